// safetensors: u64 little-endian header length N, N bytes of JSON describing every tensor
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}), then
// the data area the offsets point into. Tensors stay in the mapped file until something reads them.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "engine/mapped_file.h"
#include "importers/atomic_writer.h"
#include "importers/importer.h"

namespace by {

namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's own limit
constexpr size_t kMaxRank = 32;
constexpr uint64_t kMaxDim = uint64_t(1) << 48;

struct DTypeName {
    const char* name;
    DType dtype;
};
constexpr DTypeName kDTypes[] = {
    {"F64", DType::F64}, {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16},
    {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16}, {"I8", DType::I8},
    {"U64", DType::U64}, {"U32", DType::U32}, {"U16", DType::U16}, {"U8", DType::U8},
    {"BOOL", DType::Bool}, {"F8_E4M3", DType::F8E4M3}, {"F8_E5M2", DType::F8E5M2},
};

DType dtypeFromSafetensors(const std::string& s) {
    for (const auto& d : kDTypes)
        if (s == d.name) return d.dtype;
    return DType::Undefined;
}

const char* safetensorsName(DType t) {
    for (const auto& d : kDTypes)
        if (d.dtype == t) return d.name;
    return nullptr;
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

struct RawTensor {
    std::string name;
    std::string dtype;
    std::vector<uint64_t> shape;
    std::vector<uint64_t> offsets;
    bool hasDtype = false, hasShape = false, hasOffsets = false;
};

// Streams the header through nlohmann's SAX interface: keeps header order (a DOM object would sort
// keys), catches duplicate names, and bounds memory and nesting without building a tree.
class HeaderParser final : public nlohmann::json_sax<Json> {
public:
    std::vector<RawTensor> tensors;
    std::vector<std::pair<std::string, std::string>> metadata;
    std::string errorField;  // "" = whole header
    std::string errorTensor;
    std::string errorMessage;

    bool null() override { return scalar("null"); }
    bool boolean(bool) override { return scalar("a boolean"); }
    bool number_integer(number_integer_t v) override {
        if (m_skip) return true;
        if (m_depth == 3) return fail("holds the negative number " + std::to_string(v));
        return scalar("a number");
    }
    bool number_unsigned(number_unsigned_t v) override {
        if (m_skip) return true;
        if (m_depth == 3) {
            auto& t = tensors.back();
            auto& list = m_field == Field::Shape ? t.shape : t.offsets;
            if (m_field == Field::Shape) {
                if (list.size() >= kMaxRank) return fail("has more than " + std::to_string(kMaxRank) + " dimensions");
                if (v > kMaxDim) return fail("dimension " + std::to_string(v) + " is absurdly large");
            } else if (list.size() >= 2) {
                return fail("holds more than 2 numbers");
            }
            list.push_back(v);
            return true;
        }
        return scalar("a number");
    }
    bool number_float(number_float_t, const string_t& s) override {
        if (m_skip) return true;
        if (m_depth == 3) return fail("holds " + s + ", which is not an integer");
        return scalar("a number");
    }
    bool string(string_t& v) override {
        if (m_skip) return true;
        if (m_depth == 2 && m_section == Section::Metadata) {
            metadata.emplace_back(std::move(m_metaKey), std::move(v));
            return true;
        }
        if (m_depth == 2 && m_field == Field::Dtype) {
            tensors.back().dtype = std::move(v);
            tensors.back().hasDtype = true;
            return true;
        }
        return scalar("a string");
    }
    bool binary(binary_t&) override { return scalar("binary data"); }

    bool start_object(std::size_t) override {
        if (m_skip) return ++m_skip, true;
        if (m_depth == 0 || (m_depth == 1)) return ++m_depth, true;
        if (m_depth == 2 && m_section == Section::Tensor && m_field == Field::Other) return m_skip = 1, true;
        return scalar("an object");
    }
    bool end_object() override {
        if (m_skip) return --m_skip, true;
        --m_depth;
        return true;
    }
    bool start_array(std::size_t) override {
        if (m_skip) return ++m_skip, true;
        if (m_depth == 2 && m_section == Section::Tensor) {
            if (m_field == Field::Other) return m_skip = 1, true;
            if (m_field == Field::Shape || m_field == Field::Offsets) {
                auto& t = tensors.back();
                (m_field == Field::Shape ? t.hasShape : t.hasOffsets) = true;
                return ++m_depth, true;
            }
        }
        return scalar("an array");
    }
    bool end_array() override {
        if (m_skip) return --m_skip, true;
        --m_depth;
        return true;
    }
    bool key(string_t& k) override {
        if (m_skip) return true;
        if (m_depth == 1) {
            if (!m_names.insert(k).second) {
                m_section = Section::None;  // the message names the key itself
                return fail(k == "__metadata__" ? "field '__metadata__' appears twice"
                                                : "tensor " + quoteName(k) + " appears twice in the header",
                            true);
            }
            if (k == "__metadata__") {
                m_section = Section::Metadata;
            } else {
                m_section = Section::Tensor;
                tensors.emplace_back();
                tensors.back().name = std::move(k);
            }
            return true;
        }
        if (m_section == Section::Metadata) {
            m_metaKey = std::move(k);
            return true;
        }
        m_field = k == "dtype" ? Field::Dtype : k == "shape" ? Field::Shape : k == "data_offsets" ? Field::Offsets : Field::Other;
        if (m_field != Field::Other) {
            auto& t = tensors.back();
            const bool seen = m_field == Field::Dtype ? t.hasDtype : m_field == Field::Shape ? t.hasShape : t.hasOffsets;
            if (seen) return fail("appears twice");
        }
        return true;
    }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
        if (!errorMessage.empty()) return false;  // a handler already failed and stopped the parser
        std::string what = ex.what();
        // "[json.exception.parse_error.101] parse error at line 1, column 7: syntax error ..." -> the part after ": "
        const auto colon = what.find(": ");
        if (colon != std::string::npos) what = what.substr(colon + 2);
        errorTensor.clear();
        errorField.clear();
        errorMessage = "the JSON header is malformed at byte " + std::to_string(position) + ": " + what;
        return false;
    }

private:
    enum class Section { None, Tensor, Metadata };
    enum class Field { Dtype, Shape, Offsets, Other };

    // A value of the wrong kind where `m_depth` says what was expected.
    bool scalar(const std::string& kind) {
        if (m_skip) return true;
        if (m_depth == 2 && m_section == Section::Tensor && m_field == Field::Other) return true;  // unknown field: ignored
        if (m_depth == 0) return fail("the header is " + kind + ", not a JSON object", true);
        if (m_depth == 1) {
            if (m_section == Section::Metadata) return fail("field '__metadata__' is " + kind + ", not an object", true);
            return fail("its entry is " + kind + ", not an object", true);
        }
        if (m_section == Section::Metadata)
            return fail("field '__metadata__': value of key " + quoteName(m_metaKey) + " is " + kind + ", not a string", true);
        if (m_depth == 2 && m_field == Field::Dtype) return fail("is " + kind + ", not a string");
        if (m_depth == 2) return fail("is " + kind + ", not an array of integers");
        return fail("holds " + kind + ", not an integer");
    }

    // Records the error and stops the parser. `whole`: message stands alone (no field prefix).
    bool fail(const std::string& msg, bool whole = false) {
        errorTensor = m_section == Section::Tensor && !tensors.empty() ? tensors.back().name : "";
        errorField.clear();
        if (!whole && m_section == Section::Tensor)
            errorField = m_field == Field::Dtype ? "dtype" : m_field == Field::Shape ? "shape" : "data_offsets";
        errorMessage = errorField.empty() ? msg : "field '" + errorField + "' " + msg;
        if (m_section == Section::Metadata && !whole) errorMessage = "field '__metadata__' " + msg;
        return false;
    }

    int m_depth = 0;
    int m_skip = 0;  // >0 while inside a value of an unknown field
    Section m_section = Section::None;
    Field m_field = Field::Other;
    std::string m_metaKey;
    std::unordered_set<std::string> m_names;
};

class SafetensorsImporter final : public Importer {
public:
    std::string name() const override { return "safetensors"; }
    std::vector<std::string> extensions() const override { return {".safetensors"}; }

    int probe(std::string_view head, const std::string& path) const override {
        const bool ext = std::filesystem::path(path).extension() == ".safetensors";
        if (head.size() >= 9) {
            uint64_t n;
            std::memcpy(&n, head.data(), 8);
            if (n >= 2 && n <= kMaxHeaderBytes && head[8] == '{') return ext ? 95 : 80;
        }
        return ext ? 40 : 0;  // still ours by name, so a broken file gets a safetensors error
    }

    Result<Model> load(const std::string& path, const LoadOptions& opts) const override {
        const std::string ctx = "loading " + fileName(path);
        auto fail = [&](ErrorCode code, const std::string& where, const std::string& msg) {
            return makeError(code, msg, where.empty() ? ctx : ctx + ": " + where);
        };
        auto mapped = MappedFile::open(path);
        if (!mapped) return std::move(mapped.error().withContext(ctx));
        std::shared_ptr<const MappedFile> file = *mapped;
        const uint64_t size = file->size();
        if (opts.progress) opts.progress->report(0.0, "reading safetensors header");
        if (size < 8)
            return fail(ErrorCode::Format, "", "the file is too short (" + std::to_string(size) +
                                                   " bytes) to hold the 8-byte header length");
        uint64_t n;
        std::memcpy(&n, file->data(), 8);
        if (n > size - 8)
            return fail(ErrorCode::Format, "", "header length " + std::to_string(n) + " is larger than the rest of the file (" +
                                                   std::to_string(size - 8) + " bytes); the file is truncated or not safetensors");
        if (n > kMaxHeaderBytes)
            return fail(ErrorCode::Format, "", "header length " + std::to_string(n) + " exceeds the 100 MB limit");

        HeaderParser parser;
        const char* begin = reinterpret_cast<const char*>(file->data() + 8);
        const bool parsed = Json::sax_parse(begin, begin + n, &parser, nlohmann::json::input_format_t::json, true, false);
        if (!parsed || !parser.errorMessage.empty()) {
            std::string msg = parser.errorMessage.empty() ? "the JSON header could not be parsed" : parser.errorMessage;
            return fail(ErrorCode::Format, parser.errorTensor.empty() ? "" : "tensor " + quoteName(parser.errorTensor), msg);
        }

        const uint64_t dataStart = 8 + n;
        const uint64_t dataSize = size - dataStart;
        struct Placed {
            size_t index;
            uint64_t begin, end;
        };
        std::vector<Placed> placed;
        std::vector<DType> dtypes(parser.tensors.size());
        std::vector<Shape> shapes(parser.tensors.size());
        placed.reserve(parser.tensors.size());
        for (size_t i = 0; i < parser.tensors.size(); ++i) {
            const auto& t = parser.tensors[i];
            const std::string where = "tensor " + quoteName(t.name);
            if (!t.hasDtype) return fail(ErrorCode::Format, where, "field 'dtype' is missing");
            if (!t.hasShape) return fail(ErrorCode::Format, where, "field 'shape' is missing");
            if (!t.hasOffsets) return fail(ErrorCode::Format, where, "field 'data_offsets' is missing");
            const DType dt = dtypeFromSafetensors(t.dtype);
            if (dt == DType::Undefined)
                return fail(ErrorCode::Unsupported, where, "field 'dtype' names unknown or unsupported dtype " + quoteName(t.dtype) +
                                                               " (known: F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2)");
            if (t.offsets.size() != 2)
                return fail(ErrorCode::Format, where, "field 'data_offsets' holds " + std::to_string(t.offsets.size()) +
                                                          " numbers, expected 2 ([begin, end])");
            const uint64_t b = t.offsets[0], e = t.offsets[1];
            const std::string range = "[" + std::to_string(b) + ", " + std::to_string(e) + ")";
            if (b > e) return fail(ErrorCode::Format, where, "field 'data_offsets' " + range + " ends before it begins");
            if (e > dataSize)
                return fail(ErrorCode::Format, where, "field 'data_offsets' " + range + " lies past the end of the data area (" +
                                                          std::to_string(dataSize) + " bytes); the file is truncated or the offsets are wrong");
            Shape shape(t.shape.begin(), t.shape.end());  // each dim <= 2^48, checked while parsing
            const int64_t numel = shapeNumel(shape);
            const int64_t need = numel < 0 ? -1 : dtypeStorageBytes(dt, numel);
            if (need < 0)
                return fail(ErrorCode::Format, where, "field 'shape' " + shapeToString(shape) + " has more elements than fit in 64 bits");
            if (static_cast<uint64_t>(need) != e - b)
                return fail(ErrorCode::Format, where, "field 'data_offsets' " + range + " spans " + std::to_string(e - b) +
                                                          " bytes but shape " + shapeToString(shape) + " of " + t.dtype + " needs " +
                                                          std::to_string(need));
            dtypes[i] = dt;
            shapes[i] = std::move(shape);
            placed.push_back({i, b, e});
        }

        std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
            return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
        });
        uint64_t covered = 0;
        const Placed* prev = nullptr;
        for (const auto& p : placed) {
            if (p.begin == p.end) continue;
            if (prev && p.begin < prev->end) {
                const auto& a = parser.tensors[prev->index];
                const auto& b = parser.tensors[p.index];
                return fail(ErrorCode::Format, "tensor " + quoteName(b.name),
                            "field 'data_offsets' [" + std::to_string(p.begin) + ", " + std::to_string(p.end) +
                                ") overlaps tensor " + quoteName(a.name) + " [" + std::to_string(prev->begin) + ", " +
                                std::to_string(prev->end) + ")");
            }
            covered += p.end - p.begin;
            prev = &p;
        }

        Model model;
        model.format = "safetensors";
        model.sourcePath = path;
        for (auto& [k, v] : parser.metadata) model.metadata.emplace_back(std::move(k), MetaValue::ofString(std::move(v)));
        for (size_t i = 0; i < parser.tensors.size(); ++i) {
            const auto& t = parser.tensors[i];
            auto tensor = Tensor::fromMapped(file, static_cast<size_t>(dataStart + t.offsets[0]), dtypes[i], shapes[i]);
            if (!tensor) return fail(tensor.error().code, "tensor " + quoteName(t.name), tensor.error().message);
            model.graph.addInitializer(t.name, std::move(*tensor));
            if (opts.progress && opts.progress->cancelled()) return fail(ErrorCode::Cancelled, "", "loading was cancelled");
        }
        if (covered < dataSize)
            model.warnings.push_back(std::to_string(dataSize - covered) + " bytes of the data area belong to no tensor");
        if (opts.progress) opts.progress->report(1.0, "safetensors header read");
        return model;
    }
};

// JSON text for metadata that is not a string, so nothing is lost (safetensors metadata is str -> str).
Json metaToJson(const MetaValue& v) {
    using T = MetaValue::Type;
    auto scalarOf = [](T t, int64_t i, double f) -> Json {
        switch (t) {
        case T::Bool: return Json(i != 0);
        case T::U64: return Json(static_cast<uint64_t>(i));
        case T::F32:
        case T::F64: return Json(f);
        default: return Json(i);
        }
    };
    switch (v.type) {
    case T::String: return Json(v.s);
    case T::Array: {
        Json a = Json::array();
        for (auto i : v.ints) a.push_back(scalarOf(v.arrayType, i, 0));
        for (auto f : v.floats) a.push_back(Json(f));
        for (const auto& s : v.strings) a.push_back(Json(s));
        for (const auto& item : v.items) a.push_back(metaToJson(item));
        return a;
    }
    default: return scalarOf(v.type, v.i, v.f);
    }
}

// A JSON string literal; Invalid when the text is not UTF-8 (JSON cannot carry it).
Result<std::string> jsonString(const std::string& s, const std::string& what) {
    try {
        return Json(s).dump();
    } catch (const Json::exception&) {
        return makeError(ErrorCode::Invalid, what + " is not valid UTF-8, which a JSON header cannot hold");
    }
}

class SafetensorsExporter final : public Exporter {
public:
    bool storesGraph() const override { return false; }
    std::string name() const override { return "safetensors"; }
    std::vector<std::string> extensions() const override { return {".safetensors"}; }

    // Writes every value that carries data, in graph order, and the metadata; graph nodes are not
    // part of the format (a safetensors file is weights only) and are left out.
    Status save(const Model& model, const std::string& path) const override {
        const std::string ctx = "writing " + fileName(path);
        std::string header = "{";
        if (!model.metadata.empty()) {
            header += "\"__metadata__\":{";
            bool first = true;
            for (const auto& [k, v] : model.metadata) {
                auto key = jsonString(k, "metadata key " + quoteName(k));
                if (!key) return std::move(key.error().withContext(ctx));
                std::string text;
                if (v.type == MetaValue::Type::String) {
                    text = v.s;
                } else {
                    text = metaToJson(v).dump(-1, ' ', false, Json::error_handler_t::replace);
                }
                auto val = jsonString(text, "metadata value of " + quoteName(k));
                if (!val) return std::move(val.error().withContext(ctx));
                header += (first ? "" : ",") + *key + ":" + *val;
                first = false;
            }
            header += "}";
        }
        std::vector<const Value*> tensors;
        uint64_t offset = 0;
        for (const auto& v : model.graph.values) {
            if (!v.data || v.folded) continue;  // folded values were computed, not loaded: not weights
            const std::string where = ctx + ": tensor " + quoteName(v.name);
            if (v.name.empty()) return makeError(ErrorCode::Invalid, "a tensor without a name cannot be stored in safetensors", ctx);
            if (v.name == "__metadata__") return makeError(ErrorCode::Invalid, "the name '__metadata__' is reserved by safetensors", where);
            const Tensor& t = *v.data;
            const char* dt = safetensorsName(t.dtype());
            if (!dt)
                return makeError(ErrorCode::Unsupported, std::string("dtype ") + dtypeName(t.dtype()) +
                                                             " cannot be stored in safetensors (it has F64, F32, F16, BF16, "
                                                             "I64..I8, U64..U8, BOOL and F8 only); dequantize it first", where);
            if (t.quant())
                return makeError(ErrorCode::Unsupported, "quantization parameters cannot be stored in safetensors", where);
            auto name = jsonString(v.name, "the tensor name");
            if (!name) return std::move(name.error().withContext(where));
            std::string shape = "[";
            for (size_t i = 0; i < t.shape().size(); ++i) shape += (i ? "," : "") + std::to_string(t.shape()[i]);
            shape += "]";
            const uint64_t end = offset + t.nbytes();
            header += (header.size() > 1 ? "," : "") + *name + ":{\"dtype\":\"" + dt + "\",\"shape\":" + shape +
                      ",\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
            offset = end;
            tensors.push_back(&v);
        }
        header += "}";
        while ((8 + header.size()) % 8 != 0) header += ' ';
        if (header.size() > kMaxHeaderBytes)
            return makeError(ErrorCode::Unsupported, "the header would be " + std::to_string(header.size()) +
                                                         " bytes, past the format's 100 MB limit", ctx);

        auto w = AtomicWriter::open(path);
        if (!w) return std::move(w.error().withContext(ctx));
        const uint64_t n = header.size();
        uint8_t len[8];
        for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
        BY_TRY((*w)->write(len, 8));
        BY_TRY((*w)->write(header.data(), header.size()));
        for (const Value* v : tensors) BY_TRY((*w)->write(v->data->rawData(), v->data->nbytes()));
        return (*w)->commit();
    }
};

}  // namespace

std::unique_ptr<Importer> makeSafetensorsImporter() { return std::make_unique<SafetensorsImporter>(); }
std::unique_ptr<Exporter> makeSafetensorsExporter() { return std::make_unique<SafetensorsExporter>(); }

}  // namespace by
