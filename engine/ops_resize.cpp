// Resize (opsets 10-13 semantics, nearest / linear / cubic, every coordinate transformation mode)
// and the older Upsample. Interpolation is separable: each output coordinate of each axis gets a
// short list of (input index, weight) taps, and an output element sums the products of its axes'
// taps.
#include <cmath>

#include "engine/ops_common.h"

namespace by {

namespace {
using namespace ops;

struct Tap {
    int64_t index;
    double weight;
};

struct AxisTaps {
    std::vector<std::vector<Tap>> taps;  // per output coordinate
    std::vector<char> outside;           // tf_crop_and_resize: the coordinate left the input
};

struct ResizeParams {
    std::string mode = "nearest";
    std::string transform = "half_pixel";
    std::string nearest = "round_prefer_floor";
    double cubicA = -0.75;
    bool excludeOutside = false;
    double extrapolation = 0.0;
    bool simpleNearest = false;  // Upsample and Resize-10: floor when enlarging, ceil when shrinking
};

double sourceCoordinate(const ResizeParams& p, int64_t o, int64_t in, int64_t out, double scale, double roiStart, double roiEnd) {
    const double x = static_cast<double>(o);
    const std::string& t = p.transform;
    if (t == "half_pixel") return (x + 0.5) / scale - 0.5;
    if (t == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (t == "align_corners") {
        // The resized length is in * scale before rounding (what the ONNX reference uses).
        const double len = static_cast<double>(in) * scale;
        return out == 1 || len <= 1.0 ? 0.0 : x * static_cast<double>(in - 1) / (len - 1.0);
    }
    if (t == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
    if (t == "tf_crop_and_resize")
        return out > 1 ? roiStart * static_cast<double>(in - 1) + x * (roiEnd - roiStart) * static_cast<double>(in - 1) / static_cast<double>(out - 1)
                       : 0.5 * (roiStart + roiEnd) * static_cast<double>(in - 1);
    return x / scale;  // asymmetric
}

int64_t nearestIndex(const ResizeParams& p, double x, double scale) {
    if (p.simpleNearest) return static_cast<int64_t>(scale < 1.0 ? std::ceil(x) : std::floor(x));
    const double f = std::floor(x);
    if (p.nearest == "floor") return static_cast<int64_t>(f);
    if (p.nearest == "ceil") return static_cast<int64_t>(std::ceil(x));
    if (p.nearest == "round_prefer_ceil") return static_cast<int64_t>(x - f == 0.5 ? f + 1 : std::round(x));
    return static_cast<int64_t>(x - f == 0.5 ? f : std::round(x));  // round_prefer_floor
}

AxisTaps axisTaps(const ResizeParams& p, int64_t in, int64_t out, double scale, double roiStart, double roiEnd) {
    AxisTaps a;
    a.taps.resize(static_cast<size_t>(out));
    a.outside.assign(static_cast<size_t>(out), 0);
    const bool crop = p.transform == "tf_crop_and_resize";
    auto clampIdx = [in](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
    for (int64_t o = 0; o < out; ++o) {
        auto& taps = a.taps[static_cast<size_t>(o)];
        if (in == out && scale == 1.0 && !crop) {
            taps.push_back({o, 1.0});
            continue;
        }
        double x = sourceCoordinate(p, o, in, out, scale, roiStart, roiEnd);
        if (crop && (x < 0 || x > static_cast<double>(in - 1))) {
            a.outside[static_cast<size_t>(o)] = 1;
            taps.push_back({0, 0.0});
            continue;
        }
        if (p.mode == "nearest") {
            taps.push_back({clampIdx(nearestIndex(p, x, scale)), 1.0});
        } else if (p.mode == "linear") {
            x = std::clamp(x, 0.0, static_cast<double>(in - 1));
            const auto i0 = static_cast<int64_t>(std::floor(x));
            const int64_t i1 = std::min(i0 + 1, in - 1);
            const double w = x - static_cast<double>(i0);
            taps.push_back({i0, 1.0 - w});
            if (w > 0 && i1 != i0) taps.push_back({i1, w});
        } else {  // cubic
            const double f = std::floor(x), t = x - f;
            const double A = p.cubicA;
            const double w[4] = {((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
                                 ((A + 2) * t - (A + 3)) * t * t + 1,
                                 ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1,
                                 ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A};
            double sum = 0;
            for (int k = 0; k < 4; ++k) {
                const int64_t i = static_cast<int64_t>(f) - 1 + k;
                if (p.excludeOutside && (i < 0 || i >= in)) continue;
                taps.push_back({clampIdx(i), w[k]});
                sum += w[k];
            }
            if (p.excludeOutside && sum != 0)
                for (auto& tp : taps) tp.weight /= sum;
        }
    }
    return a;
}

Status resizeImpl(KernelContext& ctx, const ResizeParams& p, const std::vector<double>& scalesIn, const std::vector<int64_t>& sizes,
                  const std::vector<double>& roi) {
    const Tensor& x = ctx.in(0);
    const size_t r = x.shape().size();
    std::vector<double> scales(r, 1.0);
    Shape outShape = x.shape();
    if (!sizes.empty()) {
        if (sizes.size() != r) return invalid("sizes must have one entry per axis");
        for (size_t d = 0; d < r; ++d) {
            if (sizes[d] < 0) return invalid("sizes must not be negative");
            outShape[d] = sizes[d];
            scales[d] = x.shape()[d] ? static_cast<double>(sizes[d]) / static_cast<double>(x.shape()[d]) : 1.0;
        }
    } else {
        if (scalesIn.size() != r) return invalid("scales must have one entry per axis");
        for (size_t d = 0; d < r; ++d) {
            if (!(scalesIn[d] > 0)) return invalid("scales must be positive");
            scales[d] = scalesIn[d];
            outShape[d] = static_cast<int64_t>(std::floor(static_cast<double>(x.shape()[d]) * scalesIn[d]));
        }
    }
    std::vector<AxisTaps> axes(r);
    for (size_t d = 0; d < r; ++d) {
        const double rs = roi.size() == 2 * r ? roi[d] : 0.0, re = roi.size() == 2 * r ? roi[d + r] : 1.0;
        axes[d] = axisTaps(p, x.shape()[d], outShape[d], scales[d], rs, re);
    }
    const auto st = contiguousStrides(x.shape());
    Status status;
    const bool ok = visitNumeric(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        auto out = allocate(x.dtype(), outShape);
        if (!out) {
            status = out.error();
            return;
        }
        const T* px = x.data<T>();
        T* po = out->template mutableData<T>();
        const int64_t n = out->numel();
        parallelFor(ctx.pool, n, 4096, [&](int64_t b, int64_t e) {
            Odometer od(outShape);
            od.seek(b);
            std::vector<size_t> k(r, 0);
            for (int64_t i = b; i < e; ++i, od.next()) {
                bool outside = false;
                for (size_t d = 0; d < r; ++d) outside = outside || axes[d].outside[static_cast<size_t>(od.index[d])];
                if (outside) {
                    po[i] = static_cast<T>(p.extrapolation);
                    continue;
                }
                // Sum over the product of every axis' taps.
                double acc = 0;
                std::fill(k.begin(), k.end(), 0);
                for (;;) {
                    double w = 1;
                    int64_t off = 0;
                    for (size_t d = 0; d < r; ++d) {
                        const Tap& t = axes[d].taps[static_cast<size_t>(od.index[d])][k[d]];
                        w *= t.weight;
                        off += t.index * st[d];
                    }
                    acc += w * static_cast<double>(px[off]);
                    size_t d = r;
                    while (d-- > 0) {
                        if (++k[d] < axes[d].taps[static_cast<size_t>(od.index[d])].size()) break;
                        k[d] = 0;
                    }
                    if (d == static_cast<size_t>(-1)) break;
                }
                if constexpr (std::is_integral_v<T>) po[i] = static_cast<T>(std::round(acc));
                else po[i] = static_cast<T>(acc);
            }
        });
        ctx.outputs[0] = std::move(*out);
    });
    if (!ok) return unsupported(std::string("input of type ") + dtypeName(x.dtype()) + " is not supported");
    return status;
}

Status resize(KernelContext& ctx) {
    ResizeParams p;
    p.mode = ctx.node.attrString("mode", "nearest");
    std::vector<double> scales, roi;
    std::vector<int64_t> sizes;
    if (ctx.opset > 0 && ctx.opset < 11) {
        p.transform = "asymmetric";
        p.simpleNearest = true;
        auto s = readDoubles(ctx.in(1), "scales");
        if (!s) return s.error();
        scales = std::move(*s);
    } else {
        p.transform = ctx.node.attrString("coordinate_transformation_mode", "half_pixel");
        p.nearest = ctx.node.attrString("nearest_mode", "round_prefer_floor");
        p.cubicA = ctx.node.attrFloat("cubic_coeff_a", -0.75);
        p.excludeOutside = ctx.node.attrInt("exclude_outside", 0) != 0;
        p.extrapolation = ctx.node.attrFloat("extrapolation_value", 0.0);
        if (ctx.has(1) && ctx.in(1).numel() > 0) {
            auto v = readDoubles(ctx.in(1), "roi");
            if (!v) return v.error();
            roi = std::move(*v);
        }
        if (ctx.has(2) && ctx.in(2).numel() > 0) {
            auto v = readDoubles(ctx.in(2), "scales");
            if (!v) return v.error();
            scales = std::move(*v);
        }
        if (ctx.has(3) && ctx.in(3).numel() > 0) {
            auto v = readInts(ctx.in(3), "sizes");
            if (!v) return v.error();
            sizes = std::move(*v);
        }
        if (scales.empty() == sizes.empty()) return invalid("exactly one of scales and sizes must be given");
    }
    return resizeImpl(ctx, p, scales, {sizes}, roi);
}

Status upsample(KernelContext& ctx) {
    ResizeParams p;
    p.mode = ctx.node.attrString("mode", "nearest");
    p.transform = "asymmetric";
    p.simpleNearest = true;
    std::vector<double> scales;
    if (ctx.has(1)) {
        auto s = readDoubles(ctx.in(1), "scales");
        if (!s) return s.error();
        scales = std::move(*s);
    } else {
        scales = ctx.node.attr("scales") ? ctx.node.attr("scales")->floats : std::vector<double>{};
    }
    return resizeImpl(ctx, p, scales, {}, {});
}

Status checkResize(const Node& n, const Graph& g, int64_t) {
    std::string mode = n.attrString("mode", "nearest");
    if (mode == "bilinear") mode = "linear";
    if (mode != "nearest" && mode != "linear" && mode != "cubic") return unsupported("mode '" + mode + "' is not supported");
    if (n.attrInt("antialias", 0) != 0) return unsupported("antialias is not supported");
    if (n.attr("axes")) return unsupported("the axes attribute is not supported");
    if (n.attr("keep_aspect_ratio_policy") && n.attrString("keep_aspect_ratio_policy") != "stretch")
        return unsupported("keep_aspect_ratio_policy is not supported");
    const std::string t = n.attrString("coordinate_transformation_mode", "half_pixel");
    static const char* known[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                  "tf_crop_and_resize"};
    bool ok = false;
    for (const char* k : known) ok = ok || t == k;
    if (!ok) return unsupported("coordinate_transformation_mode '" + t + "' is not supported");
    const DType dt = declaredInputType(n, g, 0);
    if (dt != DType::Undefined && elementSize(dt) == 0) return unsupported(std::string("input of type ") + dtypeName(dt) + " is not supported");
    return {};
}

}  // namespace

void registerResizeOps(OpRegistry& r) {
    r.add("", "Resize", resize, checkResize);
    r.add("", "Upsample", upsample, checkResize);
}

}  // namespace by
