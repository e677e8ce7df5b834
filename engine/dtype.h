#pragma once
// Element types: plain numeric types, the project's packed low-bit types (int4/int2/1-bit, grouped
// scales kept beside the tensor in QuantParams) and the ggml block-quantized types that GGUF can name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace by {

enum class DType : uint8_t {
    Undefined,
    F32, F16, BF16, F64,
    I8, U8, I16, U16, I32, U32, I64, U64,
    Bool, String, Complex64, Complex128, F8E4M3, F8E5M2,
    // Packed along the flattened element order, low bits first; scales live in QuantParams.
    Int4, UInt4, Int2, Bit1,
    // ggml block types (self-describing blocks with their scales inside).
    Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1,
    Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
    IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, IQ1_M,
    TQ1_0, TQ2_0,
    Count_
};

struct DTypeInfo {
    const char* name;
    int64_t blockElems;  // elements per storage block (1 for plain types, 2 for int4, 32/256 for ggml)
    int64_t blockBytes;  // bytes per block
    bool isFloat;
    bool isInteger;
    bool isBlockQuant;   // ggml-style block with embedded scales
    bool isPacked;       // sub-byte packed (int4/int2/1-bit)
};

const DTypeInfo& dtypeInfo(DType t);
inline const char* dtypeName(DType t) { return dtypeInfo(t).name; }
// Parses the names dtypeName() produces (case-insensitive); Undefined when unknown.
DType dtypeFromName(std::string_view name);
// Bytes needed for `numel` elements stored contiguously; -1 when numel is not a whole number of
// blocks for block types, or the type has no fixed size (String).
int64_t dtypeStorageBytes(DType t, int64_t numel);
// Bits per element averaged over a block (4.5 for Q4_0, 16 for F16).
double dtypeBitsPerElement(DType t);

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
float bf16ToFloat(uint16_t h);
uint16_t floatToBf16(float f);

}  // namespace by
