#version 450
// Mesh vertices are already in world space; the CPU reference (renderers/mesh_reference.cpp)
// interpolates the same three attributes perspective-correctly.
layout(location = 0) in vec3 inPosition;
layout(location = 1) in vec3 inNormal;
layout(location = 2) in vec2 inUv;

layout(push_constant) uniform Push {
    mat4 viewProj;
    vec4 eye;        // xyz: camera position
    vec4 baseColor;
    vec4 light;      // xyz: direction towards the light, w: 1 when textured
} pc;

layout(location = 0) out vec3 worldPos;
layout(location = 1) out vec3 normal;
layout(location = 2) out vec2 uv;

void main() {
    worldPos = inPosition;
    normal = inNormal;
    uv = inUv;
    gl_Position = pc.viewProj * vec4(inPosition, 1.0);
}
