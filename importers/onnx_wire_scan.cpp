#include "importers/onnx_wire_scan.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <iterator>

namespace by::onnx_wire {

namespace {

namespace pb = google::protobuf;

enum class Msg { Model, Graph, Node, Attribute, Tensor, Other };

const char* fieldName(Msg m, uint32_t f) {
    switch (m) {
    case Msg::Model:
        switch (f) {
        case 1:
            return "ir_version";
        case 2:
            return "producer_name";
        case 3:
            return "producer_version";
        case 4:
            return "domain";
        case 5:
            return "model_version";
        case 6:
            return "doc_string";
        case 7:
            return "graph";
        case 8:
            return "opset_import";
        case 14:
            return "metadata_props";
        case 20:
            return "training_info";
        case 25:
            return "functions";
        }
        break;
    case Msg::Graph:
        switch (f) {
        case 1:
            return "node";
        case 2:
            return "name";
        case 5:
            return "initializer";
        case 10:
            return "doc_string";
        case 11:
            return "input";
        case 12:
            return "output";
        case 13:
            return "value_info";
        case 14:
            return "quantization_annotation";
        case 15:
            return "sparse_initializer";
        }
        break;
    case Msg::Node:
        switch (f) {
        case 1:
            return "input";
        case 2:
            return "output";
        case 3:
            return "name";
        case 4:
            return "op_type";
        case 5:
            return "attribute";
        case 6:
            return "doc_string";
        case 7:
            return "domain";
        }
        break;
    case Msg::Attribute:
        switch (f) {
        case 1:
            return "name";
        case 2:
            return "f";
        case 3:
            return "i";
        case 4:
            return "s";
        case 5:
            return "t";
        case 6:
            return "g";
        case 7:
            return "floats";
        case 8:
            return "ints";
        case 9:
            return "strings";
        case 10:
            return "tensors";
        case 11:
            return "graphs";
        case 13:
            return "doc_string";
        case 14:
            return "tp";
        case 15:
            return "type_protos";
        case 20:
            return "type";
        case 21:
            return "ref_attr_name";
        case 22:
            return "sparse_tensor";
        case 23:
            return "sparse_tensors";
        }
        break;
    case Msg::Tensor:
        switch (f) {
        case 1:
            return "dims";
        case 2:
            return "data_type";
        case 3:
            return "segment";
        case 4:
            return "float_data";
        case 5:
            return "int32_data";
        case 6:
            return "string_data";
        case 7:
            return "int64_data";
        case 8:
            return "name";
        case 9:
            return "raw_data";
        case 10:
            return "double_data";
        case 11:
            return "uint64_data";
        case 12:
            return "doc_string";
        case 13:
            return "external_data";
        case 14:
            return "data_location";
        }
        break;
    case Msg::Other:
        break;
    }
    return nullptr;
}

// Which embedded messages the scan descends into, and whether the field repeats (gets an index).
Msg childKind(Msg m, uint32_t f, bool* repeated) {
    *repeated = false;
    switch (m) {
    case Msg::Model:
        if (f == 7) return Msg::Graph;
        break;
    case Msg::Graph:
        *repeated = true;
        if (f == 1) return Msg::Node;
        if (f == 5) return Msg::Tensor;
        break;
    case Msg::Node:
        *repeated = true;
        if (f == 5) return Msg::Attribute;
        break;
    case Msg::Attribute:
        if (f == 5) return Msg::Tensor;
        if (f == 6) return Msg::Graph;
        *repeated = true;
        if (f == 10) return Msg::Tensor;
        if (f == 11) return Msg::Graph;
        break;
    default:
        break;
    }
    *repeated = false;
    return Msg::Other;
}

class WireScanner {
public:
    WireScanner(const uint8_t* data, size_t size) : m_in(data, static_cast<int>(size)), m_size(size) {
        m_in.SetTotalBytesLimit(INT_MAX);
    }

    Status scan(RawIndex& out) {
        m_out = &out;
        const auto limit = m_in.PushLimit(static_cast<int>(m_size));
        BY_TRY(scanMessage(Msg::Model, "", 0));
        m_in.PopLimit(limit);
        return {};
    }

private:
    Error fail(const std::string& where, int at, const std::string& what) const {
        return makeError(ErrorCode::Format,
                         (where.empty() ? std::string("ModelProto") : "ModelProto." + where) + " at byte " +
                             std::to_string(at) + " of " + std::to_string(m_size) + ": " + what);
    }

    Status scanMessage(Msg kind, const std::string& path, int depth) {
        if (depth > kMaxNesting) return fail(path, m_in.CurrentPosition(), "messages are nested too deeply");
        std::array<int, 32> counts{};
        for (;;) {
            const int at = m_in.CurrentPosition();
            const uint32_t tag = m_in.ReadTag();
            if (tag == 0) {
                if (m_in.ConsumedEntireMessage()) return {};
                return fail(path, at, "unreadable field tag: the file is corrupt or not an ONNX model");
            }
            const uint32_t field = tag >> 3;
            const auto wire = pb::internal::WireFormatLite::GetTagWireType(tag);
            auto fieldPath = [&](int index) {
                const char* n = fieldName(kind, field);
                std::string p = path.empty() ? std::string() : path + ".";
                p += n ? std::string(n) : "field " + std::to_string(field);
                if (index >= 0) p += "[" + std::to_string(index) + "]";
                return p;
            };
            if (wire != pb::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
                if (!pb::internal::WireFormatLite::SkipField(&m_in, tag))
                    return fail(fieldPath(-1), at,
                                "invalid or truncated value (wire type " +
                                    std::to_string(static_cast<int>(wire)) +
                                    "): the file is corrupt or not an ONNX model");
                continue;
            }
            uint32_t len = 0;
            if (!m_in.ReadVarint32(&len))
                return fail(fieldPath(-1), at, "unreadable length: the file is truncated or corrupt");
            const int left = m_in.BytesUntilLimit();
            bool repeated = false;
            const Msg child = childKind(kind, field, &repeated);
            int index = -1;
            if (repeated && field < counts.size()) index = counts[field]++;
            if (left < 0 || len > static_cast<uint32_t>(left)) {
                const Error e =
                    fail(fieldPath(index), at,
                         "needs " + std::to_string(len) + " bytes but only " +
                             std::to_string(std::max(left, 0)) + " remain: the file is truncated or corrupt");
                // Point at the innermost field that is cut off when the part that is there scans.
                if (child != Msg::Other && left > 0) {
                    const auto limit = m_in.PushLimit(left);
                    BY_TRY(scanMessage(child, fieldPath(index), depth + 1));
                    m_in.PopLimit(limit);
                }
                return e;
            }
            if (kind == Msg::Tensor && field == 9) {
                (*m_out)[path] = RawWindow{static_cast<size_t>(m_in.CurrentPosition()), len};
                m_in.Skip(static_cast<int>(len));
                continue;
            }
            if (child == Msg::Other) {
                m_in.Skip(static_cast<int>(len));
                continue;
            }
            const auto limit = m_in.PushLimit(static_cast<int>(len));
            BY_TRY(scanMessage(child, fieldPath(index), depth + 1));
            m_in.PopLimit(limit);
        }
    }

    pb::io::CodedInputStream m_in;
    size_t m_size;
    RawIndex* m_out = nullptr;
};

} // namespace

Status scanModel(const uint8_t* data, size_t size, RawIndex& out) {
    if (size > static_cast<size_t>(INT_MAX))
        return makeError(ErrorCode::Unsupported, "a protobuf message is limited to 2 GiB");
    return WireScanner(data, size).scan(out);
}

bool looksLikeModelProto(std::string_view head) {
    if (head.empty()) return false;
    const int size = static_cast<int>(std::min<size_t>(head.size(), INT_MAX));
    pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(head.data()), size);
    bool anchor = false;
    for (int fields = 0;; ++fields) {
        const uint32_t tag = in.ReadTag();
        if (tag == 0) return anchor && in.ConsumedEntireMessage() && fields > 0;
        const uint32_t field = tag >> 3, wire = tag & 7;
        if (wire == 0) {
            uint64_t v = 0;
            if (field != 1 && field != 5) return false;
            if (!in.ReadVarint64(&v)) return false;
            if (field == 1) {
                if (v < 1 || v > 64) return false;
                anchor = true;
            }
            continue;
        }
        if (wire != 2) return false;
        static constexpr uint32_t kKnown[] = {2, 3, 4, 6, 7, 8, 14, 20, 25};
        if (std::find(std::begin(kKnown), std::end(kKnown), field) == std::end(kKnown)) return false;
        uint32_t len = 0;
        if (!in.ReadVarint32(&len)) return false;
        if (field == 7) {
            if (len == 0) return anchor;
            const uint32_t inner = in.ReadTag();
            static constexpr uint32_t kGraph[] = {1, 2, 5, 10, 11, 12, 13, 14, 15};
            return (inner & 7) == 2 &&
                   std::find(std::begin(kGraph), std::end(kGraph), inner >> 3) != std::end(kGraph);
        }
        if (field == 8) anchor = true;
        if (len > static_cast<uint32_t>(size - in.CurrentPosition()))
            return anchor; // the head ends inside it
        in.Skip(static_cast<int>(len));
    }
}

} // namespace by::onnx_wire
