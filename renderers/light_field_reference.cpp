#include "renderers/light_field_reference.h"

#include <algorithm>
#include <cstring>

#include "renderers/light_field_mlp.h"

namespace by {

Result<Image> renderLightFieldReference(const Executor& executor, const RenderView& view, size_t batchRays) {
    if (executor.inputs().size() != 1 || executor.outputs().size() != 1)
        return makeError(ErrorCode::Unsupported, "a light field takes one input of rays and gives one output of colours");
    const std::vector<float> rays = lightFieldRays(view);
    const size_t n = static_cast<size_t>(view.width) * view.height;
    Image img;
    img.width = view.width, img.height = view.height;
    img.rgba.resize(n * 4);
    batchRays = std::max<size_t>(batchRays, 1);
    for (size_t at = 0; at < n; at += batchRays) {
        const size_t count = std::min(batchRays, n - at);
        std::vector<float> chunk(rays.begin() + static_cast<std::ptrdiff_t>(at * 6), rays.begin() + static_cast<std::ptrdiff_t>((at + count) * 6));
        auto out = executor.run({{executor.inputs()[0].name, Tensor::fromFloats({static_cast<int64_t>(count), 6}, chunk)}});
        if (!out) return std::move(out.error());
        const Tensor& t = (*out)[0];
        if (t.dtype() != DType::F32 || t.rank() != 2 || t.shape()[0] != static_cast<int64_t>(count) || (t.shape()[1] != 3 && t.shape()[1] != 4))
            return makeError(ErrorCode::Invalid, "the light field gave " + shapeToString(t.shape()) + " for " + std::to_string(count) +
                                                     " rays, not [N,3] or [N,4] f32 colours");
        const int64_t ch = t.shape()[1];
        const float* c = t.data<float>();
        for (size_t i = 0; i < count; ++i) {
            uint8_t* px = &img.rgba[(at + i) * 4];
            px[0] = toByte(c[i * ch]), px[1] = toByte(c[i * ch + 1]), px[2] = toByte(c[i * ch + 2]);
            px[3] = ch == 4 ? toByte(c[i * ch + 3]) : 255;
        }
    }
    return img;
}

}  // namespace by
