// GGUF (v2 and v3, little-endian): "GGUF", u32 version, u64 tensor_count, u64 kv_count, the
// key/values, the tensor infos (name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset), then
// the data section, aligned to general.alignment (default 32), that the offsets point into.
// Metadata keeps its exact types and order; tensors stay in the mapped file until read.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>
#include <unordered_set>

#include "engine/mapped_file.h"
#include "importers/atomic_writer.h"
#include "importers/importer.h"

namespace by {

namespace {

using MT = MetaValue::Type;

constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 8;          // ggml uses 4; leave room for files from newer writers
constexpr int kMaxArrayNesting = 16;

// ggml type ids, indexed by id. Undefined marks removed (4, 5, 31-33) or unknown ids.
constexpr DType kGgmlTypes[] = {
    DType::F32,     DType::F16,    DType::Q4_0,    DType::Q4_1,      DType::Undefined, DType::Undefined,
    DType::Q5_0,    DType::Q5_1,   DType::Q8_0,    DType::Q8_1,      DType::Q2_K,      DType::Q3_K,
    DType::Q4_K,    DType::Q5_K,   DType::Q6_K,    DType::Q8_K,      DType::IQ2_XXS,   DType::IQ2_XS,
    DType::IQ3_XXS, DType::IQ1_S,  DType::IQ4_NL,  DType::IQ3_S,     DType::IQ2_S,     DType::IQ4_XS,
    DType::I8,      DType::I16,    DType::I32,     DType::I64,       DType::F64,       DType::IQ1_M,
    DType::BF16,    DType::Undefined, DType::Undefined, DType::Undefined, DType::TQ1_0, DType::TQ2_0,
};
constexpr uint32_t kGgmlTypeCount = sizeof(kGgmlTypes) / sizeof(kGgmlTypes[0]);

const char* removedGgmlTypeName(uint32_t id) {
    switch (id) {
    case 4: return "Q4_2";
    case 5: return "Q4_3";
    case 31: return "Q4_0_4_4";
    case 32: return "Q4_0_4_8";
    case 33: return "Q4_0_8_8";
    default: return nullptr;
    }
}

int ggmlTypeId(DType t) {
    for (uint32_t i = 0; i < kGgmlTypeCount; ++i)
        if (kGgmlTypes[i] == t && t != DType::Undefined) return static_cast<int>(i);
    return -1;
}

bool validMetaType(uint32_t t) { return t <= 12; }

// Smallest encoding of one value of a type: bounds array counts before anything is allocated.
uint64_t minValueBytes(MT t) {
    switch (t) {
    case MT::U8: case MT::I8: case MT::Bool: return 1;
    case MT::U16: case MT::I16: return 2;
    case MT::U32: case MT::I32: case MT::F32: return 4;
    case MT::String: case MT::U64: case MT::I64: case MT::F64: return 8;
    case MT::Array: return 12;
    }
    return 1;
}

bool isIntType(MT t) { return t != MT::F32 && t != MT::F64 && t != MT::String && t != MT::Array; }

// f32 <-> f64 moving the NaN payload bits as they are, so a signalling NaN survives a round trip
// (a plain cast quiets it and the re-exported file would differ).
double f32BitsToDouble(uint32_t b) {
    if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu)) {
        const uint64_t d = (uint64_t(b >> 31) << 63) | (uint64_t(0x7ff) << 52) | (uint64_t(b & 0x7fffffu) << 29);
        double out;
        std::memcpy(&out, &d, 8);
        return out;
    }
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

uint32_t doubleToF32Bits(double v) {
    uint64_t d;
    std::memcpy(&d, &v, 8);
    if (std::isnan(v)) {
        uint32_t payload = static_cast<uint32_t>((d >> 29) & 0x7fffffu);
        if (!payload) payload = 0x400000u;
        return static_cast<uint32_t>((d >> 63) << 31) | 0x7f800000u | payload;
    }
    const float f = static_cast<float>(v);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

std::string fileName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

std::string quoteName(const std::string& s, size_t maxLen = 80) {
    std::string out = "'";
    for (size_t i = 0; i < s.size() && i < maxLen; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    }
    if (s.size() > maxLen) out += "...";
    return out + "'";
}

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

struct TensorInfo {
    std::string name;
    Shape shape;  // row-major: ne reversed
    DType dtype = DType::Undefined;
    uint64_t offset = 0;
    uint64_t nbytes = 0;
};

class GgufReader {
public:
    GgufReader(std::shared_ptr<const MappedFile> file, std::string path)
        : m_file(std::move(file)), m_ctx("loading " + fileName(path)), m_path(std::move(path)) {}

    Result<Model> read(const LoadOptions& opts) {
        const uint8_t* p = m_file->data();
        const uint64_t size = m_file->size();
        if (size < 4)
            return fail(ErrorCode::Format, "", "the file is too short (" + std::to_string(size) + " bytes) to hold the GGUF magic");
        if (std::memcmp(p, "GGUF", 4) != 0) {
            char hex[32];
            std::snprintf(hex, sizeof hex, "%02x %02x %02x %02x", p[0], p[1], p[2], p[3]);
            return fail(ErrorCode::Format, "", std::string("field 'magic' is ") + hex + ", not \"GGUF\"");
        }
        m_pos = 4;
        uint32_t version = 0;
        BY_TRY(readPod(version, "", "version"));
        if (version == 1)
            return fail(ErrorCode::Unsupported, "", "GGUF version 1 (the 2023 draft with 32-bit counts) is not supported; convert the file with a current llama.cpp");
        if (version != 2 && version != 3) {
            if (version != 0 && (version & 0xffff) == 0 && __builtin_bswap32(version) <= 3)
                return fail(ErrorCode::Unsupported, "", "big-endian GGUF files are not supported");
            return fail(ErrorCode::Unsupported, "", "field 'version' is " + std::to_string(version) + " (supported: 2, 3)");
        }
        uint64_t tensorCount = 0, kvCount = 0;
        BY_TRY(readPod(tensorCount, "", "tensor_count"));
        BY_TRY(readPod(kvCount, "", "kv_count"));
        // Every key/value takes at least 13 bytes and every tensor info 24: a count that cannot
        // fit in the file is rejected before anything is allocated for it.
        if (kvCount > remaining() / 13)
            return fail(ErrorCode::Format, "", "field 'kv_count' is " + std::to_string(kvCount) + ", more key/values than the " +
                                                   std::to_string(size) + "-byte file can hold");
        if (tensorCount > remaining() / 24)
            return fail(ErrorCode::Format, "", "field 'tensor_count' is " + std::to_string(tensorCount) +
                                                   ", more tensors than the " + std::to_string(size) + "-byte file can hold");

        Model model;
        model.format = "gguf";
        model.sourcePath = m_path;
        model.metadata.reserve(static_cast<size_t>(kvCount));
        std::unordered_set<std::string> keys;
        keys.reserve(static_cast<size_t>(kvCount));
        if (opts.progress) opts.progress->report(0.0, "reading GGUF metadata");
        for (uint64_t i = 0; i < kvCount; ++i) {
            std::string key;
            BY_TRY(readString(key, "key/value #" + std::to_string(i), "key"));
            const std::string where = "key " + quoteName(key);
            if (!keys.insert(key).second) return fail(ErrorCode::Format, where, "the key appears twice");
            uint32_t type = 0;
            BY_TRY(readPod(type, where, "value type"));
            if (!validMetaType(type)) return fail(ErrorCode::Format, where, "field 'value type' is " + std::to_string(type) + " (valid: 0-12)");
            MetaValue v;
            BY_TRY(readValue(static_cast<MT>(type), v, where, 0));
            model.metadata.emplace_back(std::move(key), std::move(v));
        }

        uint32_t alignment = kDefaultAlignment;
        if (const MetaValue* a = model.meta("general.alignment")) {
            if (a->type != MT::U32)
                return fail(ErrorCode::Format, "key 'general.alignment'", std::string("has type ") + metaTypeName(a->type) + ", expected u32");
            const auto v = static_cast<uint64_t>(a->i);
            if (v == 0 || (v & (v - 1)) != 0)
                return fail(ErrorCode::Format, "key 'general.alignment'", "value " + std::to_string(v) + " is not a power of two");
            alignment = static_cast<uint32_t>(v);
        }

        std::vector<TensorInfo> infos;
        infos.reserve(static_cast<size_t>(tensorCount));
        std::unordered_set<std::string> names;
        names.reserve(static_cast<size_t>(tensorCount));
        for (uint64_t i = 0; i < tensorCount; ++i) {
            TensorInfo t;
            BY_TRY(readString(t.name, "tensor #" + std::to_string(i), "name"));
            const std::string where = "tensor " + quoteName(t.name);
            if (!names.insert(t.name).second) return fail(ErrorCode::Format, where, "the name appears twice");
            uint32_t nDims = 0;
            BY_TRY(readPod(nDims, where, "n_dims"));
            if (nDims > kMaxDims)
                return fail(ErrorCode::Format, where, "field 'n_dims' is " + std::to_string(nDims) + " (at most " + std::to_string(kMaxDims) + ")");
            t.shape.assign(nDims, 0);
            for (uint32_t d = 0; d < nDims; ++d) {
                uint64_t ne = 0;
                const std::string field = "ne[" + std::to_string(d) + "]";
                BY_TRY(readPod(ne, where, field));
                if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                    return fail(ErrorCode::Format, where, "field '" + field + "' is " + std::to_string(ne) + ", past the signed 64-bit range");
                t.shape[nDims - 1 - d] = static_cast<int64_t>(ne);
            }
            const int64_t numel = shapeNumel(t.shape);
            if (numel < 0) return fail(ErrorCode::Format, where, "field 'ne' " + neString(t.shape) + " has more elements than fit in 64 bits");
            uint32_t type = 0;
            BY_TRY(readPod(type, where, "type"));
            if (type >= kGgmlTypeCount || kGgmlTypes[type] == DType::Undefined) {
                if (const char* removed = removedGgmlTypeName(type))
                    return fail(ErrorCode::Unsupported, where, "field 'type' is " + std::to_string(type) + " (" + removed +
                                                               "), a ggml type that was removed; re-quantize the model with a current llama.cpp");
                return fail(ErrorCode::Unsupported, where, "field 'type' is " + std::to_string(type) + ", not a ggml type this version knows");
            }
            t.dtype = kGgmlTypes[type];
            const auto& info = dtypeInfo(t.dtype);
            const int64_t rowLen = nDims ? t.shape.back() : 1;
            if (rowLen % info.blockElems != 0)
                return fail(ErrorCode::Format, where, "field 'ne[0]' is " + std::to_string(rowLen) + ", not a multiple of the " +
                                                          info.name + " block size (" + std::to_string(info.blockElems) + ")");
            const int64_t bytes = dtypeStorageBytes(t.dtype, numel);
            if (bytes < 0) return fail(ErrorCode::Format, where, "field 'ne' " + neString(t.shape) + " is too large for " + info.name);
            t.nbytes = static_cast<uint64_t>(bytes);
            BY_TRY(readPod(t.offset, where, "offset"));
            if (t.offset % alignment != 0)
                return fail(ErrorCode::Format, where, "field 'offset' is " + std::to_string(t.offset) + ", not a multiple of the alignment (" +
                                                          std::to_string(alignment) + ")");
            infos.push_back(std::move(t));
        }

        const uint64_t dataStart = alignUp(m_pos, alignment);
        const uint64_t dataSize = dataStart < size ? size - dataStart : 0;
        for (const auto& t : infos) {
            if (t.offset > dataSize || t.nbytes > dataSize - t.offset)
                return fail(ErrorCode::Format, "tensor " + quoteName(t.name),
                            "field 'offset': data [" + std::to_string(t.offset) + ", " + std::to_string(t.offset + t.nbytes) +
                                ") lies past the end of the data section (" + std::to_string(dataSize) +
                                " bytes); the file is truncated or the offset is wrong");
        }
        std::vector<const TensorInfo*> order;
        order.reserve(infos.size());
        for (const auto& t : infos)
            if (t.nbytes) order.push_back(&t);
        std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
        for (size_t i = 1; i < order.size(); ++i) {
            const auto* a = order[i - 1];
            const auto* b = order[i];
            if (b->offset < a->offset + a->nbytes)
                return fail(ErrorCode::Format, "tensor " + quoteName(b->name),
                            "field 'offset': data [" + std::to_string(b->offset) + ", " + std::to_string(b->offset + b->nbytes) +
                                ") overlaps tensor " + quoteName(a->name) + " [" + std::to_string(a->offset) + ", " +
                                std::to_string(a->offset + a->nbytes) + ")");
        }

        for (size_t i = 0; i < infos.size(); ++i) {
            auto& t = infos[i];
            // An empty tensor may sit at the very end of a file whose data section is empty.
            const uint64_t at = t.nbytes ? dataStart + t.offset : std::min(dataStart + t.offset, size);
            auto tensor = Tensor::fromMapped(m_file, static_cast<size_t>(at), t.dtype, t.shape);
            if (!tensor) return fail(tensor.error().code, "tensor " + quoteName(t.name), tensor.error().message);
            model.graph.addInitializer(t.name, std::move(*tensor));
            if (opts.progress && opts.progress->cancelled()) return fail(ErrorCode::Cancelled, "", "loading was cancelled");
        }
        if (opts.progress) opts.progress->report(1.0, "GGUF header read");
        return model;
    }

private:
    uint64_t remaining() const { return m_file->size() - m_pos; }

    static std::string neString(const Shape& rowMajor) {
        Shape ne(rowMajor.rbegin(), rowMajor.rend());
        return shapeToString(ne);
    }

    Error fail(ErrorCode code, const std::string& where, const std::string& msg) const {
        return makeError(code, msg, where.empty() ? m_ctx : m_ctx + ": " + where);
    }

    // Field names are string_views so that the hot loops (50k-token vocabularies) build no
    // strings unless something is wrong.
    Error truncated(const std::string& where, std::string_view field) const {
        return fail(ErrorCode::Format, where, "the file ends inside field '" + std::string(field) + "' (at byte " +
                                                  std::to_string(m_pos) + " of " + std::to_string(m_file->size()) +
                                                  "); it is truncated");
    }

    template <class T>
    Status readPod(T& v, const std::string& where, std::string_view field) {
        if (remaining() < sizeof(T)) return truncated(where, field);
        std::memcpy(&v, m_file->data() + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return {};
    }

    // `item` >= 0 names an array item in errors.
    Status readString(std::string& s, const std::string& where, std::string_view field, int64_t item = -1) {
        auto name = [&] { return item < 0 ? std::string(field) : "item " + std::to_string(item); };
        if (remaining() < 8) return truncated(where, name() + " length");
        uint64_t n = 0;
        std::memcpy(&n, m_file->data() + m_pos, 8);
        m_pos += 8;
        if (n > remaining())
            return fail(ErrorCode::Format, where, "field '" + name() + "' claims " + std::to_string(n) + " bytes but only " +
                                                      std::to_string(remaining()) + " remain in the file");
        s.assign(reinterpret_cast<const char*>(m_file->data() + m_pos), static_cast<size_t>(n));
        m_pos += n;
        return {};
    }

    Status readScalar(MT t, int64_t& i, double& f, const std::string& where, std::string_view field) {
        switch (t) {
        case MT::U8: { uint8_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::I8: { int8_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::Bool: { uint8_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::U16: { uint16_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::I16: { int16_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::U32: { uint32_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::I32: { int32_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::U64: { uint64_t v = 0; BY_TRY(readPod(v, where, field)); i = static_cast<int64_t>(v); break; }
        case MT::I64: { int64_t v = 0; BY_TRY(readPod(v, where, field)); i = v; break; }
        case MT::F32: { uint32_t v = 0; BY_TRY(readPod(v, where, field)); f = f32BitsToDouble(v); break; }
        case MT::F64: { double v = 0; BY_TRY(readPod(v, where, field)); f = v; break; }
        default: BY_ASSERT(false, "readScalar: not a scalar type");
        }
        return {};
    }

    Status readValue(MT type, MetaValue& out, const std::string& where, int depth) {
        out.type = type;
        if (type == MT::String) return readString(out.s, where, "value");
        if (type != MT::Array) return readScalar(type, out.i, out.f, where, "value");

        if (depth >= kMaxArrayNesting)
            return fail(ErrorCode::Format, where, "arrays are nested more than " + std::to_string(kMaxArrayNesting) + " levels deep");
        uint32_t elem = 0;
        uint64_t count = 0;
        BY_TRY(readPod(elem, where, "array type"));
        if (!validMetaType(elem)) return fail(ErrorCode::Format, where, "field 'array type' is " + std::to_string(elem) + " (valid: 0-12)");
        BY_TRY(readPod(count, where, "array count"));
        const MT et = static_cast<MT>(elem);
        out.arrayType = et;
        if (count > remaining() / minValueBytes(et))
            return fail(ErrorCode::Format, where, "field 'array count' is " + std::to_string(count) + ", more " + metaTypeName(et) +
                                                      " items than the remaining " + std::to_string(remaining()) + " bytes can hold");
        const auto n = static_cast<size_t>(count);
        if (et == MT::String) {
            out.strings.resize(n);
            for (size_t k = 0; k < n; ++k) BY_TRY(readString(out.strings[k], where, {}, static_cast<int64_t>(k)));
        } else if (et == MT::Array) {
            out.items.resize(n);
            for (size_t k = 0; k < n; ++k) BY_TRY(readValue(MT::Array, out.items[k], where + " item " + std::to_string(k), depth + 1));
        } else if (et == MT::F32 || et == MT::F64) {
            out.floats.resize(n);
            int64_t unused = 0;
            for (size_t k = 0; k < n; ++k) BY_TRY(readScalar(et, unused, out.floats[k], where, "array items"));
        } else {
            out.ints.resize(n);
            double unused = 0;
            for (size_t k = 0; k < n; ++k) BY_TRY(readScalar(et, out.ints[k], unused, where, "array items"));
        }
        return {};
    }

    std::shared_ptr<const MappedFile> m_file;
    std::string m_ctx;
    std::string m_path;
    uint64_t m_pos = 0;
};

class GgufImporter final : public Importer {
public:
    std::string name() const override { return "gguf"; }
    std::vector<std::string> extensions() const override { return {".gguf"}; }

    int probe(std::string_view head, const std::string& path) const override {
        if (head.size() >= 4 && head.substr(0, 4) == "GGUF") return 100;
        return std::filesystem::path(path).extension() == ".gguf" ? 40 : 0;
    }

    Result<Model> load(const std::string& path, const LoadOptions& opts) const override {
        auto mapped = MappedFile::open(path);
        if (!mapped) return std::move(mapped.error().withContext("loading " + fileName(path)));
        GgufReader reader(*mapped, path);
        return reader.read(opts);
    }
};

// Header bytes for the exporter; every add* appends little-endian.
class HeaderBuilder {
public:
    std::string bytes;

    template <class T>
    void pod(T v) {
        bytes.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
    void str(const std::string& s) {
        pod<uint64_t>(s.size());
        bytes += s;
    }

    Status scalar(MT t, int64_t i, double f, const std::string& where) {
        auto range = [&](int64_t lo, int64_t hi) -> Status {
            if (i < lo || i > hi)
                return makeError(ErrorCode::Invalid, "value " + std::to_string(i) + " does not fit in " + metaTypeName(t), where);
            return {};
        };
        switch (t) {
        case MT::U8: BY_TRY(range(0, 255)); pod<uint8_t>(static_cast<uint8_t>(i)); break;
        case MT::Bool: BY_TRY(range(0, 255)); pod<uint8_t>(static_cast<uint8_t>(i)); break;
        case MT::I8: BY_TRY(range(-128, 127)); pod<int8_t>(static_cast<int8_t>(i)); break;
        case MT::U16: BY_TRY(range(0, 65535)); pod<uint16_t>(static_cast<uint16_t>(i)); break;
        case MT::I16: BY_TRY(range(-32768, 32767)); pod<int16_t>(static_cast<int16_t>(i)); break;
        case MT::U32: BY_TRY(range(0, 0xffffffffll)); pod<uint32_t>(static_cast<uint32_t>(i)); break;
        case MT::I32: BY_TRY(range(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
            pod<int32_t>(static_cast<int32_t>(i));
            break;
        case MT::U64: pod<uint64_t>(static_cast<uint64_t>(i)); break;
        case MT::I64: pod<int64_t>(i); break;
        case MT::F32: pod<uint32_t>(doubleToF32Bits(f)); break;
        case MT::F64: pod<double>(f); break;
        default: return makeError(ErrorCode::Internal, "not a scalar type", where);
        }
        return {};
    }

    Status value(const MetaValue& v, const std::string& where, int depth) {
        if (v.type == MT::String) {
            str(v.s);
            return {};
        }
        if (v.type != MT::Array) return scalar(v.type, v.i, v.f, where);
        if (depth >= kMaxArrayNesting)
            return makeError(ErrorCode::Invalid, "arrays are nested more than " + std::to_string(kMaxArrayNesting) + " levels deep", where);
        const MT et = v.arrayType;
        if (!validMetaType(static_cast<uint32_t>(et))) return makeError(ErrorCode::Invalid, "array has an invalid element type", where);
        const bool ints = isIntType(et), floats = et == MT::F32 || et == MT::F64;
        const bool strings = et == MT::String, items = et == MT::Array;
        if ((!ints && !v.ints.empty()) || (!floats && !v.floats.empty()) || (!strings && !v.strings.empty()) ||
            (!items && !v.items.empty()))
            return makeError(ErrorCode::Invalid, std::string("an array of ") + metaTypeName(et) + " holds items of another kind", where);
        pod<uint32_t>(static_cast<uint32_t>(et));
        pod<uint64_t>(v.arraySize());
        if (strings) {
            size_t total = 0;
            for (const auto& s : v.strings) total += 8 + s.size();
            bytes.reserve(bytes.size() + total);
            for (const auto& s : v.strings) str(s);
        } else if (items) {
            for (size_t k = 0; k < v.items.size(); ++k) {
                if (v.items[k].type != MT::Array)
                    return makeError(ErrorCode::Invalid, "item " + std::to_string(k) + " of an array of arrays is not an array", where);
                BY_TRY(value(v.items[k], where, depth + 1));
            }
        } else if (floats) {
            for (double f : v.floats) BY_TRY(scalar(et, 0, f, where));
        } else {
            for (int64_t i : v.ints) BY_TRY(scalar(et, i, 0, where));
        }
        return {};
    }
};

class GgufExporter final : public Exporter {
public:
    bool storesGraph() const override { return false; }
    std::string name() const override { return "gguf"; }
    std::vector<std::string> extensions() const override { return {".gguf"}; }

    // Writes GGUF v3: every metadata entry in order with its type, then every value that carries
    // data in graph order, each padded to general.alignment (32 when absent). Graph nodes are not
    // part of the format (GGUF architectures are named by general.architecture) and are left out.
    Status save(const Model& model, const std::string& path) const override {
        const std::string ctx = "writing " + fileName(path);
        uint64_t alignment = kDefaultAlignment;
        if (const MetaValue* a = model.meta("general.alignment")) {
            if (a->type != MT::U32 || a->i <= 0 || a->i > 0xffffffffll || (a->i & (a->i - 1)) != 0)
                return makeError(ErrorCode::Invalid, "general.alignment must be a u32 power of two, found " + a->toString(), ctx + ": key 'general.alignment'");
            alignment = static_cast<uint64_t>(a->i);
        }

        struct Out {
            const Tensor* tensor;
            uint64_t offset;
        };
        std::vector<Out> tensors;
        std::vector<const Value*> values;
        for (const auto& v : model.graph.values)
            if (v.data && !v.folded) values.push_back(&v);

        HeaderBuilder h;
        h.bytes.append("GGUF", 4);
        h.pod<uint32_t>(3);
        h.pod<uint64_t>(values.size());
        h.pod<uint64_t>(model.metadata.size());
        for (const auto& [k, v] : model.metadata) {
            h.str(k);
            h.pod<uint32_t>(static_cast<uint32_t>(v.type));
            BY_TRY(h.value(v, ctx + ": key " + quoteName(k), 0));
        }
        uint64_t offset = 0;
        for (const Value* v : values) {
            const Tensor& t = *v->data;
            const std::string where = ctx + ": tensor " + quoteName(v->name);
            const int id = ggmlTypeId(t.dtype());
            if (id < 0)
                return makeError(ErrorCode::Unsupported, std::string("dtype ") + dtypeName(t.dtype()) + " has no ggml type; convert it first", where);
            if (t.quant()) return makeError(ErrorCode::Unsupported, "quantization parameters cannot be stored in GGUF", where);
            const Shape& s = t.shape();
            if (s.size() > kMaxDims)
                return makeError(ErrorCode::Unsupported, std::to_string(s.size()) + " dimensions do not fit GGUF (at most " + std::to_string(kMaxDims) + ")", where);
            const auto& info = dtypeInfo(t.dtype());
            if ((s.empty() ? 1 : s.back()) % info.blockElems != 0)
                return makeError(ErrorCode::Invalid, "the last dimension of " + shapeToString(s) + " is not a multiple of the " + info.name +
                                                         " block size (" + std::to_string(info.blockElems) + ")", where);
            h.str(v->name);
            h.pod<uint32_t>(static_cast<uint32_t>(s.size()));
            for (auto it = s.rbegin(); it != s.rend(); ++it) h.pod<uint64_t>(static_cast<uint64_t>(*it));
            h.pod<uint32_t>(static_cast<uint32_t>(id));
            h.pod<uint64_t>(offset);
            tensors.push_back({&t, offset});
            offset += alignUp(t.nbytes(), alignment);
        }
        h.bytes.resize(alignUp(h.bytes.size(), alignment), '\0');

        auto w = AtomicWriter::open(path);
        if (!w) return std::move(w.error().withContext(ctx));
        BY_TRY((*w)->write(h.bytes.data(), h.bytes.size()));
        for (const auto& o : tensors) {
            BY_TRY((*w)->write(o.tensor->rawData(), o.tensor->nbytes()));
            BY_TRY((*w)->writeZeros(static_cast<size_t>(alignUp(o.tensor->nbytes(), alignment) - o.tensor->nbytes())));
        }
        return (*w)->commit();
    }
};

}  // namespace

std::unique_ptr<Importer> makeGgufImporter() { return std::make_unique<GgufImporter>(); }
std::unique_ptr<Exporter> makeGgufExporter() { return std::make_unique<GgufExporter>(); }

}  // namespace by
