#include "importers/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "importers/atomic_writer.h"

namespace by {

namespace {

constexpr char kMagic[] = "\x93NUMPY";

struct DescrEntry {
    const char* code;  // kind + size, without the byte-order character
    DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"f2", DType::F16}, {"f4", DType::F32}, {"f8", DType::F64}, {"i1", DType::I8},  {"u1", DType::U8},
    {"i2", DType::I16}, {"u2", DType::U16}, {"i4", DType::I32}, {"u4", DType::U32}, {"i8", DType::I64},
    {"u8", DType::U64}, {"b1", DType::Bool},
};

Error formatError(const std::string& what, const std::string& msg) { return makeError(ErrorCode::Format, msg, what); }

void skipSpace(const std::string& s, size_t& i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}

// Value text of a key in the header dict: a quoted string, True/False or a tuple.
bool dictValue(const std::string& h, const std::string& key, std::string* out) {
    for (const char q : {'\'', '"'}) {
        const std::string k = std::string(1, q) + key + q;
        size_t p = h.find(k);
        if (p == std::string::npos) continue;
        p += k.size();
        skipSpace(h, p);
        if (p >= h.size() || h[p] != ':') return false;
        ++p;
        skipSpace(h, p);
        if (p >= h.size()) return false;
        if (h[p] == '\'' || h[p] == '"') {
            const size_t e = h.find(h[p], p + 1);
            if (e == std::string::npos) return false;
            *out = h.substr(p + 1, e - p - 1);
            return true;
        }
        if (h[p] == '(') {
            const size_t e = h.find(')', p);
            if (e == std::string::npos) return false;
            *out = h.substr(p, e - p + 1);
            return true;
        }
        size_t e = p;
        while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
        *out = h.substr(p, e - p);
        while (!out->empty() && out->back() == ' ') out->pop_back();
        return true;
    }
    return false;
}

bool parseShape(const std::string& tuple, Shape* shape) {
    if (tuple.size() < 2 || tuple.front() != '(' || tuple.back() != ')') return false;
    shape->clear();
    size_t i = 1;
    while (i < tuple.size() - 1) {
        skipSpace(tuple, i);
        if (i >= tuple.size() - 1) break;
        if (tuple[i] < '0' || tuple[i] > '9') return false;
        int64_t v = 0;
        while (i < tuple.size() && tuple[i] >= '0' && tuple[i] <= '9') {
            if (v > (int64_t(1) << 50)) return false;
            v = v * 10 + (tuple[i] - '0');
            ++i;
        }
        shape->push_back(v);
        skipSpace(tuple, i);
        if (i < tuple.size() - 1) {
            if (tuple[i] != ',') return false;
            ++i;
        }
    }
    return true;
}

}  // namespace

std::string npyDescr(DType t) {
    for (const auto& d : kDescrs)
        if (d.dtype == t) return std::string(t == DType::I8 || t == DType::U8 || t == DType::Bool ? "|" : "<") + d.code;
    return {};
}

Result<Tensor> parseNpy(const uint8_t* data, size_t size, const std::string& what) {
    if (size < 10 || std::memcmp(data, kMagic, 6) != 0) return formatError(what, "not a .npy file (bad magic)");
    const int major = data[6];
    size_t headerLen = 0, pos = 0;
    if (major == 1) {
        headerLen = static_cast<size_t>(data[8]) | static_cast<size_t>(data[9]) << 8;
        pos = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return formatError(what, "the header is truncated");
        headerLen = static_cast<size_t>(data[8]) | static_cast<size_t>(data[9]) << 8 | static_cast<size_t>(data[10]) << 16 |
                    static_cast<size_t>(data[11]) << 24;
        pos = 12;
    } else {
        return makeError(ErrorCode::Unsupported, ".npy format version " + std::to_string(major) + " is not supported", what);
    }
    if (headerLen > size - pos) return formatError(what, "the header runs past the end of the file");
    const std::string header(reinterpret_cast<const char*>(data + pos), headerLen);
    pos += headerLen;

    std::string descr, fortran, shapeText;
    if (!dictValue(header, "descr", &descr)) return formatError(what, "the header has no 'descr'");
    if (!dictValue(header, "shape", &shapeText)) return formatError(what, "the header has no 'shape'");
    if (!dictValue(header, "fortran_order", &fortran)) fortran = "False";
    Shape shape;
    if (!parseShape(shapeText, &shape)) return formatError(what, "cannot read shape " + shapeText);
    if (descr.size() < 3) return makeError(ErrorCode::Unsupported, "dtype '" + descr + "' is not supported", what);
    const char order = descr[0];
    const std::string code = descr.substr(1);
    DType dt = DType::Undefined;
    for (const auto& d : kDescrs)
        if (code == d.code) dt = d.dtype;
    if (dt == DType::Undefined || (order != '<' && order != '>' && order != '|' && order != '='))
        return makeError(ErrorCode::Unsupported, "dtype '" + descr + "' is not supported", what);
    const int64_t n = shapeNumel(shape);
    if (n < 0) return formatError(what, "shape " + shapeToString(shape) + " overflows");
    const int64_t esize = dtypeStorageBytes(dt, 1);
    if (n > static_cast<int64_t>((size - pos) / static_cast<size_t>(esize)))
        return formatError(what, "the data is truncated: shape " + shapeToString(shape) + " of " + descr + " needs " +
                                     std::to_string(n * esize) + " bytes, the file has " + std::to_string(size - pos));
    std::vector<uint8_t> bytes(data + pos, data + pos + n * esize);
    if (order == '>' && esize > 1)
        for (int64_t i = 0; i < n; ++i) std::reverse(bytes.begin() + i * esize, bytes.begin() + (i + 1) * esize);
    if (dt == DType::Bool)
        for (auto& b : bytes) b = b != 0;
    if (fortran == "True" && shape.size() > 1) {
        // Fortran order: the first index varies fastest.
        std::vector<uint8_t> c(bytes.size());
        const size_t r = shape.size();
        std::vector<int64_t> idx(r, 0), fstride(r, 1);
        for (size_t d = 1; d < r; ++d) fstride[d] = fstride[d - 1] * shape[d - 1];
        for (int64_t i = 0; i < n; ++i) {
            int64_t off = 0;
            for (size_t d = 0; d < r; ++d) off += idx[d] * fstride[d];
            std::memcpy(c.data() + i * esize, bytes.data() + off * esize, static_cast<size_t>(esize));
            for (size_t d = r; d-- > 0;) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        bytes = std::move(c);
    } else if (fortran != "False" && fortran != "True") {
        return formatError(what, "fortran_order is neither True nor False");
    }
    auto t = Tensor::fromBytes(dt, shape, std::move(bytes));
    if (!t) t.error().withContext(what);
    return t;
}

Result<Tensor> readNpy(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return makeError(ErrorCode::Io, "cannot open " + path);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return parseNpy(bytes.data(), bytes.size(), "reading " + path);
}

Result<std::vector<uint8_t>> encodeNpy(const Tensor& t) {
    const std::string descr = npyDescr(t.dtype());
    if (descr.empty()) return makeError(ErrorCode::Unsupported, std::string(dtypeName(t.dtype())) + " tensors cannot be written as .npy");
    std::string shape = "(";
    for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (t.shape().size() == 1 || i + 1 < t.shape().size() ? "," : "");
    shape += ")";
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    if (header.size() > 65535) return makeError(ErrorCode::Unsupported, "the shape is too long for a .npy header");
    std::vector<uint8_t> out(kMagic, kMagic + 6);
    out.push_back(1);
    out.push_back(0);
    out.push_back(static_cast<uint8_t>(header.size() & 0xff));
    out.push_back(static_cast<uint8_t>(header.size() >> 8));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), t.rawData(), t.rawData() + t.nbytes());
    return out;
}

Status writeNpy(const std::string& path, const Tensor& t) {
    auto bytes = encodeNpy(t);
    if (!bytes) return bytes.error().withContext("writing " + path);
    auto w = AtomicWriter::open(path);
    if (!w) return w.error();
    BY_TRY((*w)->write(bytes->data(), bytes->size()));
    return (*w)->commit();
}

}  // namespace by
