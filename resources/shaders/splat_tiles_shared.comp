#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_vote : require
// splat_tiles.comp with the splats' data shared across a subgroup: every pixel of a tile walks the
// same list, so each invocation loads one splat of the next gl_SubgroupSize and hands it to the
// others by shuffle (one load per splat and subgroup instead of one per pixel, which a CPU
// device does lane by lane). A pixel that is opaque keeps taking part, masked, until its whole
// subgroup is, so that every shuffle reads an active invocation. Same image.
// Tile rasteriser for Gaussian splats: one 8x8 workgroup per screen tile, one invocation per
// pixel. Each tile has a list of the splats whose footprint box touches it, nearest first (built
// on the host from the depth sort); a pixel composites them front to back and stops once it is
// opaque (transmittance under 1e-4). Front-to-back "under" blending gives the same image as the
// CPU reference's back-to-front "over" blending; the early stop is what makes it cheap on a CPU
// device, where every covered pixel of every quad would otherwise be shaded and blended.
layout(local_size_x = 8, local_size_y = 8) in;

layout(std430, set = 0, binding = 0) readonly buffer Projected { vec4 projected[]; };  // 4 per splat
// ranges[0..tiles]: list offsets per tile; then the ids of the tiles that have any splat (only
// those are dispatched; the host fills the others with the background).
layout(std430, set = 0, binding = 1) readonly buffer Ranges { uint ranges[]; };
layout(std430, set = 0, binding = 2) readonly buffer List { uint list[]; };
// RGBA8 out; with an underlay (pc.flags.x) it first holds the underlay's colour, then (after
// width * height words) its view-axis depth as float bits.
layout(std430, set = 0, binding = 3) buffer Pixels { uint pixels[]; };

layout(push_constant) uniform Push {
    vec4 background;
    uvec4 size;  // width, height, tiles across, tiles in all
    uvec4 flags; // x: underlay present
} pc;

void main() {
    uint tile = ranges[pc.size.w + 1 + gl_WorkGroupID.x];
    uvec2 px = uvec2(tile % pc.size.z, tile / pc.size.z) * 8u + gl_LocalInvocationID.xy;
    // Pixels past the image's edge take part in the sharing (no early return) and write nothing.
    bool inside = px.x < pc.size.x && px.y < pc.size.y;
    uint begin = ranges[tile], end = ranges[tile + 1];
    uint pi = px.y * pc.size.x + px.x;
    vec4 background = pc.background;
    float limit = 3.0e38;
    if (pc.flags.x != 0u && inside) {
        background = unpackUnorm4x8(pixels[pi]);
        limit = uintBitsToFloat(pixels[pc.size.x * pc.size.y + pi]);
    }
    vec2 p = vec2(px) + 0.5;
    vec3 color = vec3(0.0);
    float T = 1.0;
    bool done = !inside;
    const uint lanes = gl_SubgroupSize, lane = gl_SubgroupInvocationID;
    for (uint base = begin; base < end; base += lanes) {
        // Lanes past the end load nothing and are never read.
        vec4 mg = vec4(0.0), mco = vec4(0.0), mcol = vec4(0.0);
        float mz = 0.0;
        if (base + lane < end) {
            uint idx = list[base + lane];
            mg = projected[idx * 4];
            mco = projected[idx * 4 + 1];
            mcol = projected[idx * 4 + 2];
            mz = projected[idx * 4 + 3].z;
        }
        uint count = min(lanes, end - base);
        for (uint q = 0u; q < count; ++q) {
            vec4 g = subgroupShuffle(mg, q);
            vec4 co = subgroupShuffle(mco, q);
            vec4 col = subgroupShuffle(mcol, q);
            float z = subgroupShuffle(mz, q);
            if (done) continue;
            if (pc.flags.x != 0u && z >= limit) continue;  // behind the underlay's surface here
            vec2 d = p - g.xy;
            float power = -0.5 * (co.x * d.x * d.x + co.z * d.y * d.y) - co.y * d.x * d.y;
            if (power > 0.0 || power < -4.5) continue;  // kSplatMinPower: outside the footprint
            float alpha = min(0.99, co.w * exp(power));
            if (alpha < 1.0 / 255.0) continue;
            color += T * alpha * col.rgb;
            T *= 1.0 - alpha;
            if (T < 1e-4) done = true;
        }
        if (subgroupAll(done)) break;
    }
    vec4 outc = vec4(color + T * background.rgb, 1.0 - T * (1.0 - background.a));
    if (inside) pixels[pi] = packUnorm4x8(clamp(outc, 0.0, 1.0));
}
