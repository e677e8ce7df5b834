#version 450
// Baked neural scene (MobileNeRF form): 8 features sampled nearest from two RGBA8 textures,
// discarded where feature 0 is zero (empty space), then the small view-dependent MLP per fragment.
// Keep in step with decodeBakedNerfFeatures() and evalBakedNerfMlp() in engine/baked_nerf.cpp.
layout(push_constant) uniform Push {
    mat4 viewProj;
    vec4 eye;
} pc;

layout(set = 0, binding = 0) uniform sampler2D features0;
layout(set = 0, binding = 1) uniform sampler2D features1;
// Per layer: weights [out][in] then bias [out], layers one after another from offset 0.
layout(std430, set = 0, binding = 2) readonly buffer Mlp {
    int layerCount;
    int zUp;  // 1: the direction enters as (x, -z, y); 0: as it is (forward-facing scenes)
    int ins[8];
    int outs[8];
    int offsets[8];
    float data[];
} mlp;

layout(location = 0) in vec3 worldPos;
layout(location = 1) in vec2 uv;
layout(location = 0) out vec4 outColor;

const int kMaxWidth = 64;

void main() {
    vec4 t0 = texture(features0, uv);
    // Exactly zero: the byte was 0, the UNORM conversion is exact.
    if (t0.r == 0.0) discard;
    vec4 t1 = texture(features1, uv);
    // The alpha bytes were stored as a/2 + 128 (never transparent to an alpha test).
    t0.a = t0.a * 2.0 - 1.0;
    t1.a = t1.a * 2.0 - 1.0;
    vec3 d = normalize(worldPos - pc.eye.xyz);
    float a[kMaxWidth];
    float b[kMaxWidth];
    a[0] = t0.r; a[1] = t0.g; a[2] = t0.b; a[3] = t0.a;
    a[4] = t1.r; a[5] = t1.g; a[6] = t1.b; a[7] = t1.a;
    // The meshes are Y-up, the MLP of a synthetic or 360 scene was trained Z-up.
    a[8] = d.x;
    if (mlp.zUp != 0) {
        a[9] = -d.z; a[10] = d.y;
    } else {
        a[9] = d.y; a[10] = d.z;
    }
    for (int l = 0; l < mlp.layerCount; ++l) {
        int n = mlp.ins[l], m = mlp.outs[l], off = mlp.offsets[l];
        bool last = l + 1 == mlp.layerCount;
        for (int o = 0; o < m; ++o) {
            float acc = mlp.data[off + m * n + o];
            for (int i = 0; i < n; ++i) acc += mlp.data[off + o * n + i] * a[i];
            b[o] = last ? 1.0 / (1.0 + exp(-acc)) : max(acc, 0.0);
        }
        for (int o = 0; o < m; ++o) a[o] = b[o];
    }
    outColor = vec4(a[0], a[1], a[2], 1.0);
}
