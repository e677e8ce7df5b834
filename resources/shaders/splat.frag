#version 450
// Gaussian falloff from the conic; premultiplied colour, blended back to front with
// (ONE, ONE_MINUS_SRC_ALPHA). Same as the CPU reference's per-pixel loop.
layout(location = 0) flat in vec2 center;
layout(location = 1) flat in vec4 conicOpacity;
layout(location = 2) flat in vec3 color;
layout(location = 0) out vec4 outColor;

void main() {
    vec2 d = gl_FragCoord.xy - center;
    float power = -0.5 * (conicOpacity.x * d.x * d.x + conicOpacity.z * d.y * d.y) - conicOpacity.y * d.x * d.y;
    if (power > 0.0 || power < -4.5) discard;  // kSplatMinPower: outside the footprint
    float alpha = min(0.99, conicOpacity.w * exp(power));
    if (alpha < 1.0 / 255.0) discard;
    outColor = vec4(color * alpha, alpha);
}
