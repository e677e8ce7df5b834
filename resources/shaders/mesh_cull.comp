#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
// Drops, before the mesh is drawn, the triangles the rasteriser would drop anyway: those wholly
// outside one side of the view, back faces of single-sided materials, and (most of them when a
// large mesh is seen small) those whose screen bounding box holds no pixel centre, which cover
// no sample. What survives is written in the original order, one segment of SEGMENT triangles
// per workgroup with its own indirect draw, so depth ties resolve exactly as in the full draw
// and the image is the same, only sooner: vertex shading, triangle setup and binning were the
// serial part of the frame on a CPU device.
// Each test is conservative: anything a vertex behind the eye touches is kept, facing needs a
// clearly positive area, and the pixel-centre test widens the box by more than the rasteriser's
// sub-pixel snapping can move a vertex.
layout(local_size_x = 256) in;

const uint PER_INVOCATION = 16;
const uint SEGMENT = 256 * PER_INVOCATION;

layout(std430, set = 0, binding = 0) readonly buffer Vertices { float vertices[]; };  // 8 floats: position, normal, uv
layout(std430, set = 0, binding = 1) readonly buffer Source { uint source[]; };       // 3 indices per triangle
layout(std430, set = 0, binding = 2) writeonly buffer Kept { uint kept[]; };          // survivors, segment by segment
layout(std430, set = 0, binding = 3) writeonly buffer Draws { uint draws[]; };        // VkDrawIndexedIndirectCommand per segment

layout(push_constant) uniform Push {
    mat4 viewProj;
    vec4 viewport;  // width, height
    uvec4 info;     // triangles, cull back faces (1/0)
} pc;

shared uint subgroupTotals[256];  // per subgroup, then their exclusive prefix
shared uint segmentTotal;

vec4 clipOf(uint index) {
    const uint b = index * 8u;
    return pc.viewProj * vec4(vertices[b], vertices[b + 1u], vertices[b + 2u], 1.0);
}

bool survives(uint t) {
    const uint i0 = source[3u * t], i1 = source[3u * t + 1u], i2 = source[3u * t + 2u];
    const vec4 c0 = clipOf(i0), c1 = clipOf(i1), c2 = clipOf(i2);
    if (!(c0.w > 0.0 && c1.w > 0.0 && c2.w > 0.0)) return true;  // the clipper's business
    if (c0.x > c0.w && c1.x > c1.w && c2.x > c2.w) return false;
    if (c0.x < -c0.w && c1.x < -c1.w && c2.x < -c2.w) return false;
    if (c0.y > c0.w && c1.y > c1.w && c2.y > c2.w) return false;
    if (c0.y < -c0.w && c1.y < -c1.w && c2.y < -c2.w) return false;
    const vec2 s0 = (c0.xy / c0.w * 0.5 + 0.5) * pc.viewport.xy;
    const vec2 s1 = (c1.xy / c1.w * 0.5 + 0.5) * pc.viewport.xy;
    const vec2 s2 = (c2.xy / c2.w * 0.5 + 0.5) * pc.viewport.xy;
    if (any(isnan(s0)) || any(isnan(s1)) || any(isnan(s2)) || any(isinf(s0)) || any(isinf(s1)) || any(isinf(s2))) return true;
    // Framebuffer y grows downwards: counter-clockwise front faces have a negative area here.
    const float area = (s1.x - s0.x) * (s2.y - s0.y) - (s1.y - s0.y) * (s2.x - s0.x);
    const float extent = max(max(abs(s1.x - s0.x), abs(s2.x - s0.x)), max(abs(s1.y - s0.y), abs(s2.y - s0.y)));
    if (pc.info.y != 0u && area > 1e-3 * max(1.0, extent)) return false;
    const float slack = 1.0 / 64.0;
    const vec2 lo = min(min(s0, s1), s2) - slack, hi = max(max(s0, s1), s2) + slack;
    // A pixel centre i + 0.5 lies in [lo, hi] on both axes, or no sample is covered.
    if (ceil(lo.x - 0.5) > floor(hi.x - 0.5) || ceil(lo.y - 0.5) > floor(hi.y - 0.5)) return false;
    return true;
}

void main() {
    const uint segment = gl_WorkGroupID.x;
    const uint lane = gl_LocalInvocationID.x;
    const uint first = segment * SEGMENT + lane * PER_INVOCATION;
    uint mask = 0u, n = 0u;
    for (uint k = 0u; k < PER_INVOCATION; ++k) {
        const uint t = first + k;
        if (t < pc.info.x && survives(t)) {
            mask |= 1u << k;
            ++n;
        }
    }
    // Exclusive prefix sum of the survivors over the workgroup keeps the order: within each
    // subgroup by its arithmetic, across subgroups by one lane (a CPU device runs few, wide ones).
    const uint inclusive = subgroupInclusiveAdd(n);
    if (gl_SubgroupInvocationID == gl_SubgroupSize - 1u) subgroupTotals[gl_SubgroupID] = inclusive;
    barrier();
    if (lane == 0u) {
        uint sum = 0u;
        for (uint i = 0u; i < gl_NumSubgroups; ++i) {
            const uint t = subgroupTotals[i];
            subgroupTotals[i] = sum;
            sum += t;
        }
        segmentTotal = sum;
    }
    barrier();
    uint out_ = segment * SEGMENT * 3u + (subgroupTotals[gl_SubgroupID] + inclusive - n) * 3u;
    for (uint k = 0u; k < PER_INVOCATION; ++k) {
        if ((mask & (1u << k)) == 0u) continue;
        const uint t = first + k;
        kept[out_] = source[3u * t];
        kept[out_ + 1u] = source[3u * t + 1u];
        kept[out_ + 2u] = source[3u * t + 2u];
        out_ += 3u;
    }
    if (lane == 0u) {
        const uint d = segment * 5u;
        draws[d] = segmentTotal * 3u;       // indexCount
        draws[d + 1u] = 1u;                 // instanceCount
        draws[d + 2u] = segment * SEGMENT * 3u;  // firstIndex
        draws[d + 3u] = 0u;                 // vertexOffset
        draws[d + 4u] = 0u;                 // firstInstance
    }
}
