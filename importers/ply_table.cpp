#include "importers/ply_table.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <sstream>

#include "engine/mapped_file.h"

namespace by {

int PlyTable::column(const std::string& name) const {
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return static_cast<int>(i);
    return -1;
}

namespace {

enum class PlyType { I8, U8, I16, U16, I32, U32, F32, F64 };

bool parseType(const std::string& s, PlyType& t) {
    if (s == "char" || s == "int8") t = PlyType::I8;
    else if (s == "uchar" || s == "uint8") t = PlyType::U8;
    else if (s == "short" || s == "int16") t = PlyType::I16;
    else if (s == "ushort" || s == "uint16") t = PlyType::U16;
    else if (s == "int" || s == "int32") t = PlyType::I32;
    else if (s == "uint" || s == "uint32") t = PlyType::U32;
    else if (s == "float" || s == "float32") t = PlyType::F32;
    else if (s == "double" || s == "float64") t = PlyType::F64;
    else return false;
    return true;
}

size_t typeSize(PlyType t) {
    switch (t) {
    case PlyType::I8: case PlyType::U8: return 1;
    case PlyType::I16: case PlyType::U16: return 2;
    case PlyType::I32: case PlyType::U32: case PlyType::F32: return 4;
    case PlyType::F64: return 8;
    }
    return 0;
}

float readScalar(const uint8_t* p, PlyType t) {
    switch (t) {
    case PlyType::I8: return static_cast<float>(static_cast<int8_t>(*p));
    case PlyType::U8: return static_cast<float>(*p);
    case PlyType::I16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case PlyType::U16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case PlyType::I32: { int32_t v; std::memcpy(&v, p, 4); return static_cast<float>(v); }
    case PlyType::U32: { uint32_t v; std::memcpy(&v, p, 4); return static_cast<float>(v); }
    case PlyType::F32: { float v; std::memcpy(&v, p, 4); return v; }
    case PlyType::F64: { double v; std::memcpy(&v, p, 8); return static_cast<float>(v); }
    }
    return 0;
}

struct Property {
    std::string name;
    PlyType type = PlyType::F32;
    bool isList = false;
};

struct Element {
    std::string name;
    uint64_t count = 0;
    std::vector<Property> props;
    bool fixedSize() const {
        for (const auto& p : props) if (p.isList) return false;
        return true;
    }
    size_t stride() const {
        size_t s = 0;
        for (const auto& p : props) s += typeSize(p.type);
        return s;
    }
};

struct Header {
    bool ascii = false;
    std::vector<Element> elements;
    size_t dataOffset = 0;
};

Result<Header> parseHeader(const uint8_t* data, size_t size) {
    constexpr size_t kMaxHeader = 1 << 20;
    const size_t limit = std::min(size, kMaxHeader);
    const std::string text(reinterpret_cast<const char*>(data), limit);
    const size_t end = text.find("end_header");
    if (text.rfind("ply", 0) != 0) return makeError(ErrorCode::Format, "not a PLY file (no 'ply' magic line)");
    if (end == std::string::npos) return makeError(ErrorCode::Format, "PLY header has no end_header line");
    size_t after = text.find('\n', end);
    if (after == std::string::npos) return makeError(ErrorCode::Format, "PLY header ends without a newline");
    Header h;
    h.dataOffset = after + 1;
    std::istringstream lines(text.substr(0, end));
    std::string line;
    bool haveFormat = false;
    int lineNo = 0;
    while (std::getline(lines, line)) {
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::istringstream ls(line);
        std::string kw;
        ls >> kw;
        if (kw.empty() || kw == "ply" || kw == "comment" || kw == "obj_info") continue;
        const std::string where = "PLY header line " + std::to_string(lineNo);
        if (kw == "format") {
            std::string f;
            ls >> f;
            if (f == "ascii") h.ascii = true;
            else if (f == "binary_little_endian") h.ascii = false;
            else if (f == "binary_big_endian")
                return makeError(ErrorCode::Unsupported, "big-endian binary PLY is not supported", where);
            else return makeError(ErrorCode::Format, "unknown PLY format '" + f + "'", where);
            haveFormat = true;
        } else if (kw == "element") {
            Element e;
            std::string count;
            ls >> e.name >> count;
            char* endp = nullptr;
            e.count = std::strtoull(count.c_str(), &endp, 10);
            if (e.name.empty() || count.empty() || *endp != '\0' || count[0] == '-')
                return makeError(ErrorCode::Format, "element line needs a name and a non-negative count", where);
            h.elements.push_back(std::move(e));
        } else if (kw == "property") {
            if (h.elements.empty()) return makeError(ErrorCode::Format, "property before any element", where);
            Property p;
            std::string t;
            ls >> t;
            if (t == "list") {
                std::string ct, it;
                ls >> ct >> it >> p.name;
                PlyType dummy;
                if (!parseType(ct, dummy) || !parseType(it, p.type))
                    return makeError(ErrorCode::Format, "unknown list property type", where);
                p.isList = true;
            } else {
                if (!parseType(t, p.type)) return makeError(ErrorCode::Format, "unknown property type '" + t + "'", where);
                ls >> p.name;
            }
            if (p.name.empty()) return makeError(ErrorCode::Format, "property without a name", where);
            h.elements.back().props.push_back(std::move(p));
        }
        // Other lines (some exporters write free text such as "Created by ...") are ignored.
    }
    if (!haveFormat) return makeError(ErrorCode::Format, "PLY header has no format line");
    return h;
}

PlyTable tableFromHeader(const Header& h) {
    PlyTable t;
    for (const auto& e : h.elements) {
        if (e.name == "face") t.hasFaces = e.count > 0;
        if (e.name != "vertex") continue;
        t.declaredRows = e.count;
        for (const auto& p : e.props)
            if (!p.isList) t.names.push_back(p.name);
    }
    return t;
}

}  // namespace

Result<PlyTable> readPlyHeader(const std::string& path) {
    auto head = readFileHead(path, 1 << 20);
    if (!head) return std::move(head.error());
    auto h = parseHeader(reinterpret_cast<const uint8_t*>(head->data()), head->size());
    if (!h) return std::move(h.error().withContext("reading " + path));
    return tableFromHeader(*h);
}

Result<PlyTable> readPlyVertices(const std::string& path) {
    auto file = MappedFile::open(path);
    if (!file) return std::move(file.error());
    const uint8_t* data = (*file)->data();
    const size_t size = (*file)->size();
    auto hr = parseHeader(data, size);
    if (!hr) return std::move(hr.error().withContext("reading " + path));
    const Header& h = *hr;
    PlyTable t = tableFromHeader(h);
    const Element* vertex = nullptr;
    size_t pos = h.dataOffset;
    for (const auto& e : h.elements) {
        if (e.name == "vertex") {
            vertex = &e;
            break;
        }
        // Skip elements stored before the vertices.
        if (h.ascii) {
            for (uint64_t i = 0; i < e.count && pos < size; ++i) {
                const void* nl = std::memchr(data + pos, '\n', size - pos);
                pos = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) + 1 : size;
            }
        } else {
            if (!e.fixedSize())
                return makeError(ErrorCode::Unsupported, "element '" + e.name + "' with list properties precedes the vertices",
                                 "reading " + path);
            const uint64_t bytes = e.count * e.stride();
            if (e.count != 0 && bytes / e.count != e.stride()) return makeError(ErrorCode::Format, "element size overflows", "reading " + path);
            if (bytes > size - pos) return makeError(ErrorCode::Format, "element '" + e.name + "' runs past the end of the file", "reading " + path);
            pos += bytes;
        }
    }
    if (!vertex) return makeError(ErrorCode::Format, "PLY file has no vertex element", "reading " + path);
    if (!vertex->fixedSize())
        return makeError(ErrorCode::Unsupported, "vertex element has list properties", "reading " + path);
    const size_t cols = t.names.size();
    if (cols == 0) return makeError(ErrorCode::Format, "vertex element has no properties", "reading " + path);
    uint64_t rows = vertex->count;
    if (!h.ascii) {
        const size_t stride = vertex->stride();
        const uint64_t fit = (size - pos) / stride;
        if (fit < rows) {
            t.warnings.push_back("file is truncated: " + std::to_string(fit) + " of " + std::to_string(rows) +
                                 " vertices are complete, the rest are missing");
            rows = fit;
        }
        t.rows = rows;
        t.values.resize(rows * cols);
        for (uint64_t r = 0; r < rows; ++r) {
            const uint8_t* p = data + pos + r * stride;
            float* out = t.values.data() + r * cols;
            for (size_t c = 0; c < cols; ++c) {
                out[c] = readScalar(p, vertex->props[c].type);
                p += typeSize(vertex->props[c].type);
            }
        }
    } else {
        // An ascii row takes at least two bytes per value ("0 "): bounds the allocation.
        const uint64_t maxRows = (size - pos) / (2 * cols) + 1;
        if (rows > maxRows) rows = maxRows;
        t.values.reserve(rows * cols);
        const char* p = reinterpret_cast<const char*>(data + pos);
        const char* endp = reinterpret_cast<const char*>(data + size);
        std::string tok;
        uint64_t r = 0;
        for (; r < rows; ++r) {
            size_t c = 0;
            for (; c < cols; ++c) {
                while (p < endp && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
                const char* s = p;
                while (p < endp && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
                if (s == p) break;
                tok.assign(s, p);
                char* e = nullptr;
                const double v = std::strtod(tok.c_str(), &e);
                if (*e != '\0') {
                    return makeError(ErrorCode::Format, "vertex " + std::to_string(r) + " property '" + t.names[c] +
                                                            "' is not a number ('" + tok + "')", "reading " + path);
                }
                t.values.push_back(static_cast<float>(v));
            }
            if (c < cols) {
                t.values.resize(r * cols);
                break;
            }
        }
        if (r < vertex->count)
            t.warnings.push_back("file is truncated: " + std::to_string(r) + " of " + std::to_string(vertex->count) +
                                 " vertices are complete, the rest are missing");
        t.rows = r;
    }
    if (t.rows == 0 && vertex->count > 0)
        return makeError(ErrorCode::Format, "file is truncated before the first complete vertex", "reading " + path);
    return t;
}

}  // namespace by

namespace by {

Result<PointCloud> readPointCloudPly(const std::string& path) {
    auto tr = readPlyVertices(path);
    if (!tr) return std::move(tr.error());
    const PlyTable& t = *tr;
    const int x = t.column("x"), y = t.column("y"), z = t.column("z");
    if (x < 0 || y < 0 || z < 0) return makeError(ErrorCode::Format, "the vertex element has no x, y, z properties", "reading " + path);
    int rgb[3] = {t.column("red"), t.column("green"), t.column("blue")};
    if (rgb[0] < 0) rgb[0] = t.column("diffuse_red"), rgb[1] = t.column("diffuse_green"), rgb[2] = t.column("diffuse_blue");
    const bool hasColor = rgb[0] >= 0 && rgb[1] >= 0 && rgb[2] >= 0;
    const int n[3] = {t.column("nx"), t.column("ny"), t.column("nz")};
    const bool hasNormals = n[0] >= 0 && n[1] >= 0 && n[2] >= 0;
    PointCloud pc;
    pc.warnings = t.warnings;
    float maxColor = 0;
    if (hasColor)
        for (size_t r = 0; r < t.rows; ++r)
            for (int c : rgb) maxColor = std::max(maxColor, t.at(r, c));
    const float colorScale = maxColor > 1.0f ? 1.0f / 255.0f : 1.0f;
    size_t dropped = 0, badNormals = 0;
    for (size_t r = 0; r < t.rows; ++r) {
        const Vec3 p{t.at(r, x), t.at(r, y), t.at(r, z)};
        if (!isFinite(p)) {
            ++dropped;
            continue;
        }
        // Stored normals are unit vectors; a row whose normal is not is misaligned or corrupt
        // bytes (random floats almost never form a unit vector), so its position is junk too.
        if (hasNormals) {
            const float len = length(Vec3{t.at(r, n[0]), t.at(r, n[1]), t.at(r, n[2])});
            if (!(std::fabs(len - 1.0f) < 1e-2f)) {
                ++badNormals;
                continue;
            }
        }
        pc.positions.push_back(p);
        pc.colors.push_back(hasColor ? Vec3{t.at(r, rgb[0]), t.at(r, rgb[1]), t.at(r, rgb[2])} * colorScale : Vec3{0.7f, 0.7f, 0.7f});
        if (hasNormals) {
            Vec3 nv{t.at(r, n[0]), t.at(r, n[1]), t.at(r, n[2])};
            pc.normals.push_back(isFinite(nv) ? normalize(nv) : Vec3{});
        }
    }
    if (dropped) pc.warnings.push_back("dropped " + std::to_string(dropped) + " points with NaN or infinite coordinates");
    if (badNormals)
        pc.warnings.push_back("dropped " + std::to_string(badNormals) + " of " + std::to_string(t.rows) +
                              " points whose normal is not unit length: those rows look corrupt");
    // Corrupt rows that slip through the checks above sit absurdly far away (1e38 is typical):
    // drop points more than 100x the median distance from the median point.
    if (pc.positions.size() > 16) {
        auto median = [](std::vector<float> v) {
            std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
            return v[v.size() / 2];
        };
        std::vector<float> xs, ys, zs;
        for (const Vec3& p : pc.positions) xs.push_back(p.x), ys.push_back(p.y), zs.push_back(p.z);
        const Vec3 mid{median(xs), median(ys), median(zs)};
        std::vector<float> dist;
        for (const Vec3& p : pc.positions) dist.push_back(length(Vec3{(p.x - mid.x) * 0.5f, (p.y - mid.y) * 0.5f, (p.z - mid.z) * 0.5f}));
        const float limit = 100.0f * std::max(median(dist), 1e-20f);
        size_t far = 0, w = 0;
        for (size_t i = 0; i < pc.positions.size(); ++i) {
            if (!(dist[i] <= limit)) {
                ++far;
                continue;
            }
            pc.positions[w] = pc.positions[i];
            pc.colors[w] = pc.colors[i];
            if (hasNormals) pc.normals[w] = pc.normals[i];
            ++w;
        }
        pc.positions.resize(w), pc.colors.resize(w);
        if (hasNormals) pc.normals.resize(w);
        if (far) pc.warnings.push_back("dropped " + std::to_string(far) + " points lying over 100 times farther out than the median point: those rows look corrupt");
    }
    if (!hasColor) pc.warnings.push_back("the points have no colour; using grey");
    if (pc.positions.empty()) return makeError(ErrorCode::Invalid, "no usable points in the file", "reading " + path);
    return pc;
}

}  // namespace by
