#version 450
// Lambert + ambient + Blinn-Phong specular, two-sided. Keep in step with shadeMesh() in
// renderers/mesh_shading.h, which the CPU reference uses.
layout(push_constant) uniform Push {
    mat4 viewProj;
    vec4 eye;
    vec4 baseColor;
    vec4 light;
} pc;

layout(set = 0, binding = 0) uniform sampler2D baseColorTexture;

layout(location = 0) in vec3 worldPos;
layout(location = 1) in vec3 normal;
layout(location = 2) in vec2 uv;
layout(location = 0) out vec4 outColor;

const float kAmbient = 0.25;
const float kSpecular = 0.25;
const float kShininess = 32.0;

void main() {
    vec3 n = normalize(normal);
    vec3 v = normalize(pc.eye.xyz - worldPos);
    if (dot(n, v) < 0.0) n = -n;
    vec3 l = pc.light.xyz;
    vec4 base = pc.baseColor;
    if (pc.light.w > 0.5) base *= texture(baseColorTexture, uv);
    float diffuse = max(dot(n, l), 0.0);
    vec3 h = normalize(l + v);
    float spec = kSpecular * pow(max(dot(n, h), 0.0), kShininess);
    vec3 c = base.rgb * (kAmbient + (1.0 - kAmbient) * diffuse) + vec3(spec);
    outColor = vec4(clamp(c, 0.0, 1.0), 1.0);
}
