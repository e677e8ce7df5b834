// A Gaussian video frame rendered after the round trip through the 2D-video form (x264, the
// default settings) against the same frame rendered from its PLY: the quantization and the codec
// must not show. Vulkan on lavapipe, plus the CPU reference for one frame.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/splat_baker.h"
#include "engine/splat_sequence.h"
#include "importers/gaussian_video.h"
#include "importers/mesh_importer.h"
#include "importers/ply_sequence.h"
#include "importers/splat_io.h"
#include "renderers/splat_reference.h"
#include "renderers/splat_renderer.h"
#include "renderers/vulkan_context.h"
#include "tests/test_support.h"

namespace by {
namespace {

TEST(GaussianVideoRender, DecodedFramesRenderLikeTheRawFrames) {
    const std::string duck = "/usr/share/assimp/models/Collada/duck.dae";
    auto scene = loadMeshScene(duck);
    ASSERT_TRUE(scene.ok()) << scene.error().what() << " (scripts/setup.sh installs assimp-testmodels)";
    const SplatCloud base = bakeMeshSurfaces(scene->meshes, 20000, 3);
    const std::string dir = test::tempDir();
    const int frames = 4;
    for (int k = 0; k < frames; ++k) {
        char name[32];
        std::snprintf(name, sizeof name, "/f%02d.ply", k);
        ASSERT_TRUE(writeSplatPly(animateSplats(base, static_cast<float>(k) / frames), dir + name).ok());
    }
    auto seq = PlySequenceSource::open(dir + "/f%02d.ply");
    ASSERT_TRUE(seq.ok()) << seq.error().what();
    auto info = writeGaussianVideo(**seq, dir + "/video");
    ASSERT_TRUE(info.ok()) << info.error().what();
    auto dec = GaussianVideoReader::open(dir + "/video");
    ASSERT_TRUE(dec.ok()) << dec.error().what();

    auto ctx = VulkanContext::create();
    if (!ctx) GTEST_SKIP() << "no Vulkan device: " << ctx.error().what();
    auto r = SplatRenderer::create(*ctx);
    ASSERT_TRUE(r.ok()) << r.error().what();
    RenderView view;
    view.width = 320, view.height = 240;
    view.camera = Camera::frame(base.bounds(), view.aspect());
    view.camera.orbit(25, 10);
    ASSERT_TRUE((*seq)->seek(0).ok());
    for (int k = 0; k < frames; ++k) {
        auto raw = (*seq)->read();
        auto got = (*dec)->read();
        ASSERT_TRUE(raw.ok() && got.ok());
        ASSERT_TRUE((*r)->setSplats(*raw).ok());
        auto a = (*r)->render(view);
        ASSERT_TRUE((*r)->setSplats(*got).ok());
        auto b = (*r)->render(view);
        ASSERT_TRUE(a.ok() && b.ok());
        const double p = psnr(*a, *b);
        std::printf("frame %d: decoded vs raw render PSNR %.2f dB\n", k, p);
        // Measured 45 to 52 dB at 320x240 (quantization alone: 65 to 70 dB, the rest is x264 at crf
        // 18); 40 dB is the bar the issue sets for matching images.
        EXPECT_GE(p, 40.0) << "frame " << k;
        if (k == 1) {
            const double pc = psnr(renderSplatsReference(*raw, view), renderSplatsReference(*got, view));
            std::printf("frame %d: CPU reference, decoded vs raw PSNR %.2f dB\n", k, pc);
            EXPECT_GE(pc, 40.0);
        }
    }
}

}  // namespace
}  // namespace by
