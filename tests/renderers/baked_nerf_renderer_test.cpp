// Baked neural scenes (MobileNeRF form): a hand-made scene whose pixels are known (the discard
// rule, the alpha-byte decoding, the view direction's frame), the Vulkan renderer against its CPU
// reference, the baked duck (scripts/train/baked_nerf.py) against held-out ground-truth views, and
// the render verb on it and on a broken folder.
#include "importers/baked_nerf_importer.h"
#include "importers/image_folder_reader.h"
#include "renderers/baked_nerf_reference.h"
#include "renderers/baked_nerf_renderer.h"
#include "renderers/vulkan_context.h"
#include "tests/test_support.h"

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace by {
namespace {

namespace fs = std::filesystem;

std::string bakedDir() {
    return test::cacheDir() + "/models/baked_nerf/duck";
}
std::string viewsDir() {
    return test::cacheDir() + "/models/light_field/duck";
}

Image loadRgba(const std::string& path) {
    auto t = decodeImage(path, ImageLayout{3, 0, 0});
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().what());
    Image img;
    if (!t.ok()) return img;
    img.height = static_cast<int>(t->shape()[1]), img.width = static_cast<int>(t->shape()[2]);
    const size_t plane = static_cast<size_t>(img.width) * img.height;
    img.rgba.resize(plane * 4);
    const uint8_t* c = t->data<uint8_t>();
    for (size_t i = 0; i < plane; ++i) {
        for (int k = 0; k < 3; ++k)
            img.rgba[i * 4 + k] = c[k * plane + i];
        img.rgba[i * 4 + 3] = 255;
    }
    return img;
}

std::shared_ptr<Image> texture(int w, std::vector<std::array<uint8_t, 4>> texels) {
    auto img = std::make_shared<Image>();
    img->width = w, img->height = 1;
    for (const auto& t : texels)
        img->rgba.insert(img->rgba.end(), t.begin(), t.end());
    return img;
}

BakedNerfShape quad(const std::string& name, float half, float z, std::shared_ptr<Image> f0,
                    std::shared_ptr<Image> f1) {
    BakedNerfShape s;
    s.name = name;
    s.positions = {{-half, -half, z}, {half, -half, z}, {half, half, z}, {-half, half, z}};
    s.uvs = {{0, 1}, {1, 1}, {1, 0}, {0, 0}};
    s.indices = {0, 1, 2, 0, 2, 3};
    s.features[0] = std::move(f0);
    s.features[1] = std::move(f1);
    return s;
}

// A front quad whose left texel is empty (feature 0's byte is 0) over a larger back quad. One
// layer: R = 8 f1 - 4, G = 8 f3 - 4 (f3 from an alpha byte), B = 6 a9 - 6 with a9 = -d.z of the
// view direction (the MLP's Z-up frame): all through the sigmoid.
BakedNerf handMadeScene() {
    BakedNerf n;
    n.shapes.push_back(quad("front", 1.0f, 0.0f, texture(2, {{0, 255, 0, 191}, {9, 255, 0, 191}}),
                            texture(2, {{0, 0, 0, 128}, {0, 0, 0, 128}})));
    n.shapes.push_back(quad("back", 1.5f, -1.0f, texture(1, {{9, 0, 0, 255}}), texture(1, {{0, 0, 0, 128}})));
    BakedNerfLayer l;
    l.in = 11, l.out = 3;
    l.weights.assign(33, 0.0f);
    l.weights[0 * 11 + 1] = 8, l.weights[1 * 11 + 3] = 8, l.weights[2 * 11 + 9] = 6;
    l.bias = {-4, -4, -6};
    n.layers.push_back(l);
    return n;
}

RenderView frontView(int w, int h) {
    RenderView v;
    v.width = w, v.height = h;
    v.camera.eye = {0, 0, 3};
    v.camera.target = {0, 0, 0};
    return v;
}

const uint8_t* pixel(const Image& img, int x, int y) {
    return img.rgba.data() + (static_cast<size_t>(y) * img.width + x) * 4;
}

std::shared_ptr<VulkanContext> vulkanOrNull(std::string* why) {
    auto c = VulkanContext::create();
    if (!c) {
        *why = c.error().what();
        return nullptr;
    }
    return *c;
}

TEST(BakedNerfReference, HandMadeSceneFollowsTheMobileNerfRule) {
    const BakedNerf n = handMadeScene();
    ASSERT_TRUE(n.validate().ok()) << n.validate().error().what();
    const Image img = renderBakedNerfReference(n, frontView(64, 64));
    // Right of centre: the front quad's solid texel. R = sigmoid(4); G: alpha byte 191 decodes to
    // 2*191/255 - 1 = 0.498, sigmoid(-0.016) = 0.496 (read as 191/255 it would be 224); B: the
    // direction points down -Z, so -d.z is about 1 and B is about sigmoid(0) (0 if the frame were wrong).
    const uint8_t* right = pixel(img, 42, 32);
    EXPECT_EQ(right[0], 250);
    EXPECT_NEAR(right[1], 126, 1);
    EXPECT_NEAR(right[2], 125, 4);
    // Left of centre: the front texel is empty, so the back quad shows through (no depth written).
    const uint8_t* left = pixel(img, 21, 32);
    EXPECT_EQ(left[0], 5);
    EXPECT_EQ(left[1], 250); // alpha byte 255 decodes to 1
    // Off both quads: the background.
    const uint8_t* corner = pixel(img, 0, 0);
    EXPECT_EQ(corner[0], toByte(frontView(1, 1).background.x));
}

TEST(BakedNerfRenderer, HandMadeSceneMatchesTheReferenceOnVulkan) {
    std::string why;
    auto ctx = vulkanOrNull(&why);
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << why;
    auto r = BakedNerfRenderer::create(ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    const BakedNerf n = handMadeScene();
    ASSERT_TRUE((*r)->setScene(n).ok());
    // Even widths: the quad's texel boundary (u = 0.5) runs through the orbit target, the image
    // centre, which is then between pixel centres; through a pixel centre (an odd width) nearest
    // sampling is a tie that float rounding decides, differently on each side.
    for (RenderView v : {frontView(64, 64), frontView(96, 41)}) {
        v.camera.orbit(10, 5);
        auto gpu = (*r)->render(v);
        ASSERT_TRUE(gpu.ok()) << gpu.error().what();
        const Image cpu = renderBakedNerfReference(n, v);
        EXPECT_GE(psnr(*gpu, cpu), 40.0) << ctx->deviceName();
    }
    auto gpu = (*r)->render(frontView(64, 64));
    ASSERT_TRUE(gpu.ok());
    EXPECT_EQ(pixel(*gpu, 42, 32)[0], 250);
    EXPECT_EQ(pixel(*gpu, 21, 32)[0], 5);
    EXPECT_GT((*r)->lastTimes().totalMs, 0.0);

    // A layer chain that does not fit is refused before anything is uploaded.
    BakedNerf bad = n;
    bad.layers[0].in = 10;
    auto st = (*r)->setScene(bad);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().what().find("layer 0 takes 10 inputs"), std::string::npos) << st.error().what();
}

TEST(BakedNerfRenderer, TrainedDuckMatchesTheReferenceAndTheHeldOutViews) {
    if (!fs::exists(bakedDir() + "/mlp.json"))
        GTEST_SKIP() << bakedDir()
                     << "/mlp.json is missing: run scripts/build_models.sh (after a build), which bakes it";
    std::string why;
    auto ctx = vulkanOrNull(&why);
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << why;
    auto nerf = loadBakedNerf(bakedDir());
    ASSERT_TRUE(nerf.ok()) << nerf.error().what();
    auto r = BakedNerfRenderer::create(ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_TRUE((*r)->setScene(*nerf).ok());

    RenderView v;
    v.width = 320, v.height = 240;
    for (float yaw : {0.0f, 130.0f}) {
        v.camera = Camera::frame(nerf->bounds(), v.aspect());
        v.camera.orbit(yaw, 20);
        auto gpu = (*r)->render(v);
        ASSERT_TRUE(gpu.ok()) << gpu.error().what();
        const Image cpu = renderBakedNerfReference(*nerf, v);
        const double p = psnr(*gpu, cpu);
        EXPECT_GE(p, 40.0) << "yaw " << yaw << " on " << ctx->deviceName();
        std::printf("baked duck 320x240 yaw %g: GPU vs CPU reference %.1f dB on %s\n", yaw, p,
                    ctx->deviceName().c_str());
    }

    // The same function through the generic shader: an identity 16 -> 16 layer after the second
    // (its input is a ReLU output, so ReLU(I h) = h) makes the MLP 4 layers deep, which the
    // specialised 11 -> 16 -> 16 -> 3 pipeline does not take.
    {
        BakedNerf deeper = *nerf;
        BakedNerfLayer id;
        id.in = id.out = 16;
        id.weights.assign(256, 0.0f);
        for (int i = 0; i < 16; ++i)
            id.weights[static_cast<size_t>(i) * 17] = 1.0f;
        id.bias.assign(16, 0.0f);
        deeper.layers.insert(deeper.layers.begin() + 2, id);
        auto r2 = BakedNerfRenderer::create(ctx);
        ASSERT_TRUE(r2.ok()) << r2.error().what();
        ASSERT_TRUE((*r2)->setScene(deeper).ok());
        v.camera = Camera::frame(nerf->bounds(), v.aspect());
        auto generic = (*r2)->render(v);
        auto specialised = (*r)->render(v);
        ASSERT_TRUE(generic.ok() && specialised.ok());
        EXPECT_GE(psnr(*generic, renderBakedNerfReference(deeper, v)), 40.0);
        EXPECT_GE(psnr(*generic, *specialised), 45.0);
        std::printf("generic vs specialised shader: %.1f dB\n", psnr(*generic, *specialised));
    }

    std::ifstream in(viewsDir() + "/poses.json");
    ASSERT_TRUE(in.good()) << viewsDir() << "/poses.json";
    const auto poses = nlohmann::json::parse(in);
    int heldOut = 0;
    double sum = 0, background = 0;
    for (const auto& p : poses.at("views")) {
        if (p.at("split") != "test") continue;
        const Image truth = loadRgba(viewsDir() + "/" + p.at("file").get<std::string>());
        RenderView hv;
        hv.width = truth.width, hv.height = truth.height;
        auto cam = parseCamera(p.at("camera").get<std::string>(), hv.camera);
        ASSERT_TRUE(cam.ok());
        hv.camera = *cam;
        auto gpu = (*r)->render(hv);
        ASSERT_TRUE(gpu.ok()) << gpu.error().what();
        const double learned = psnr(*gpu, truth);
        // What an empty scene (background only) scores on the same view, for scale.
        BakedNerf none = *nerf;
        for (auto& s : none.shapes)
            s.indices.clear();
        background += psnr(renderBakedNerfReference(none, hv), truth);
        std::printf("%s: baked vs ground truth %.2f dB on %s\n", p.at("file").get<std::string>().c_str(),
                    learned, ctx->deviceName().c_str());
        // Floors below what the committed training recipe reaches on views it never saw (31.8..37.0 dB,
        // mean 34.0, docs/baked_nerf.md); the background alone scores about 10.6 dB on these views.
        EXPECT_GT(learned, 30.0) << p.at("file");
        sum += learned;
        ++heldOut;
    }
    ASSERT_GE(heldOut, 4);
    std::printf("held-out mean PSNR %.2f dB over %d views (background alone %.2f dB)\n", sum / heldOut,
                heldOut, background / heldOut);
    EXPECT_GT(sum / heldOut, 32.5);
}

TEST(BakedNerfRenderer, CliRendersTheBakedDuckAndRefusesABrokenFolder) {
    if (!fs::exists(bakedDir() + "/mlp.json"))
        GTEST_SKIP() << bakedDir()
                     << "/mlp.json is missing: run scripts/build_models.sh (after a build), which bakes it";
    const std::string png = test::tempDir() + "/baked.png";
    std::string out;
    for (const std::string& arg : {bakedDir(), bakedDir() + "/mlp.json"}) {
        ASSERT_EQ(test::runCommand(
                      test::cliPath() + " render " + arg + " --size 96x64 --orbit 20,5 -o " + png, &out),
                  0)
            << out;
        EXPECT_NE(out.find("baked neural scene, 1 shapes, 4212 triangles"), std::string::npos) << out;
        const Image img = loadRgba(png);
        EXPECT_EQ(img.width, 96);
        EXPECT_EQ(img.height, 64);
    }
    // The same folder without its second feature image.
    const fs::path broken = fs::path(test::tempDir()) / "broken_baked";
    fs::create_directories(broken);
    for (const char* f : {"mlp.json", "shape0.obj", "shape0.pngfeat0.png"})
        fs::copy_file(fs::path(bakedDir()) / f, broken / f);
    EXPECT_EQ(test::runCommand(test::cliPath() + " render " + broken.string() + " -o " + png, &out), 1)
        << out;
    EXPECT_NE(out.find("the feature image shape0.pngfeat1.png is missing"), std::string::npos) << out;
}

} // namespace
} // namespace by
