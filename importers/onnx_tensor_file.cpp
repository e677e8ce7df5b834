#include "importers/onnx_tensor_file.h"

#include <onnx/onnx-ml.pb.h>

#include <climits>
#include <cstring>
#include <fstream>
#include <iterator>

#include "importers/onnx_importer.h"

namespace by {

namespace {

Result<std::string> slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return makeError(ErrorCode::Io, "cannot open " + path);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) return makeError(ErrorCode::Io, "cannot read " + path);
    return bytes;
}

template <class Field>
void copyNarrow(const Field& field, uint8_t* out, size_t width) {
    for (const auto v : field) {
        const uint64_t u = static_cast<uint64_t>(v);
        std::memcpy(out, &u, width);
        out += width;
    }
}

Result<Tensor> convert(const onnx::TensorProto& tp) {
    if (tp.data_location() == onnx::TensorProto::EXTERNAL)
        return makeError(ErrorCode::Unsupported, "the tensor keeps its data in an external file");
    const DType dt = dtypeFromOnnx(tp.data_type());
    if (dt == DType::Undefined)
        return makeError(ErrorCode::Unsupported, "ONNX tensor type " + std::to_string(tp.data_type()) + " is not supported");
    Shape shape(tp.dims().begin(), tp.dims().end());
    for (int64_t d : shape)
        if (d < 0) return makeError(ErrorCode::Format, "negative dimension in " + shapeToString(shape));
    const int64_t n = shapeNumel(shape);
    if (n < 0) return makeError(ErrorCode::Format, "dims " + shapeToString(shape) + " overflow");
    if (dt == DType::String) {
        if (tp.string_data_size() != n) return makeError(ErrorCode::Format, "string_data does not match the dims");
        return Tensor::fromStrings(shape, std::vector<std::string>(tp.string_data().begin(), tp.string_data().end()));
    }
    const int64_t bytes = dtypeStorageBytes(dt, n);
    if (bytes < 0) return makeError(ErrorCode::Format, "dims " + shapeToString(shape) + " do not fit the type");
    if (tp.has_raw_data()) {
        const std::string& raw = tp.raw_data();
        if (static_cast<int64_t>(raw.size()) != bytes)
            return makeError(ErrorCode::Format, "raw_data holds " + std::to_string(raw.size()) + " bytes, dims " +
                                                    shapeToString(shape) + " of " + dtypeName(dt) + " need " + std::to_string(bytes));
        return Tensor::fromBytes(dt, shape, std::vector<uint8_t>(raw.begin(), raw.end()));
    }
    // Every typed value takes at least one byte of the message: more elements mean corrupt dims.
    if (n > static_cast<int64_t>(tp.ByteSizeLong()))
        return makeError(ErrorCode::Format, "dims " + shapeToString(shape) + " promise more values than the message holds");
    std::vector<uint8_t> out(static_cast<size_t>(bytes));
    auto need = [&](int have, int64_t want, const char* field) -> Status {
        if (have != want)
            return makeError(ErrorCode::Format, std::string(field) + " holds " + std::to_string(have) + " values, dims " +
                                                    shapeToString(shape) + " need " + std::to_string(want));
        return {};
    };
    switch (dt) {
    case DType::F32:
        BY_TRY(need(tp.float_data_size(), n, "float_data"));
        if (n) std::memcpy(out.data(), tp.float_data().data(), out.size());
        break;
    case DType::Complex64:
        BY_TRY(need(tp.float_data_size(), 2 * n, "float_data"));
        if (n) std::memcpy(out.data(), tp.float_data().data(), out.size());
        break;
    case DType::F64:
        BY_TRY(need(tp.double_data_size(), n, "double_data"));
        if (n) std::memcpy(out.data(), tp.double_data().data(), out.size());
        break;
    case DType::Complex128:
        BY_TRY(need(tp.double_data_size(), 2 * n, "double_data"));
        if (n) std::memcpy(out.data(), tp.double_data().data(), out.size());
        break;
    case DType::I64:
        BY_TRY(need(tp.int64_data_size(), n, "int64_data"));
        if (n) std::memcpy(out.data(), tp.int64_data().data(), out.size());
        break;
    case DType::U64:
    case DType::U32:
        BY_TRY(need(tp.uint64_data_size(), n, "uint64_data"));
        copyNarrow(tp.uint64_data(), out.data(), dt == DType::U64 ? 8 : 4);
        break;
    case DType::I32:
    case DType::I16:
    case DType::U16:
    case DType::F16:
    case DType::BF16:
    case DType::I8:
    case DType::U8:
    case DType::Bool:
    case DType::F8E4M3:
    case DType::F8E5M2:
        BY_TRY(need(tp.int32_data_size(), n, "int32_data"));
        copyNarrow(tp.int32_data(), out.data(), static_cast<size_t>(dtypeStorageBytes(dt, 1)));
        if (dt == DType::Bool)
            for (auto& b : out) b = b != 0;
        break;
    case DType::Int4:
    case DType::UInt4:
        BY_TRY(need(tp.int32_data_size(), bytes, "int32_data"));
        copyNarrow(tp.int32_data(), out.data(), 1);
        break;
    default:
        return makeError(ErrorCode::Unsupported, std::string("typed data for ") + dtypeName(dt) + " is not supported");
    }
    return Tensor::fromBytes(dt, shape, std::move(out));
}

}  // namespace

Result<Tensor> parseOnnxTensor(const void* data, size_t size, const std::string& what) {
    if (size > static_cast<size_t>(INT_MAX)) return makeError(ErrorCode::Unsupported, "larger than 2 GiB", what);
    onnx::TensorProto tp;
    if (!tp.ParseFromArray(data, static_cast<int>(size)))
        return makeError(ErrorCode::Format, "not a serialized ONNX TensorProto", what);
    auto t = convert(tp);
    if (!t) t.error().withContext(what);
    return t;
}

Result<Tensor> readOnnxTensorFile(const std::string& path) {
    auto bytes = slurp(path);
    if (!bytes) return bytes.error();
    return parseOnnxTensor(bytes->data(), bytes->size(), "reading " + path);
}

std::string onnxTensorFileName(const std::string& path) {
    auto bytes = slurp(path);
    if (!bytes) return {};
    onnx::TensorProto tp;
    if (!tp.ParseFromArray(bytes->data(), static_cast<int>(std::min<size_t>(bytes->size(), INT_MAX)))) return {};
    return tp.name();
}

}  // namespace by
