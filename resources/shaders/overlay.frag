#version 450
// Vertex colour times the font atlas (white where a widget is a plain shape); blended with
// straight alpha over the scene image.
layout(set = 0, binding = 0) uniform sampler2D atlas;
layout(location = 0) in vec2 uv;
layout(location = 1) in vec4 color;
layout(location = 0) out vec4 outColor;

void main() { outColor = color * texture(atlas, uv); }
