// Video files of rendered frames and the camera bookmarks that drive them: an H.264 MP4 is written
// and decoded back frame by frame; bookmarks round-trip through JSON; broken inputs are one error.
#include <gtest/gtest.h>

#include <fstream>

#include "importers/camera_bookmarks.h"
#include "importers/video_file.h"
#include "tests/test_support.h"

namespace by {
namespace {

TEST(VideoFile, WritesAnMp4ThatDecodesWithEveryFrame) {
    const std::string path = test::tempDir() + "/moving.mp4";
    auto w = VideoFileWriter::open(path, 96, 64, VideoFileOptions{25, 23, "veryfast"});
    ASSERT_TRUE(w.ok()) << w.error().what();
    for (int f = 0; f < 17; ++f) {
        Image img;
        img.width = 96, img.height = 64;
        img.rgba.resize(96 * 64 * 4);
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 96; ++x) {
                uint8_t* p = &img.rgba[(size_t(y) * 96 + x) * 4];
                p[0] = uint8_t((x + f * 5) * 2), p[1] = uint8_t(y * 4), p[2] = uint8_t(f * 10), p[3] = 255;
            }
        ASSERT_TRUE((*w)->write(img).ok());
    }
    Image wrong;
    wrong.width = 10, wrong.height = 10;
    wrong.rgba.resize(400);
    EXPECT_FALSE((*w)->write(wrong).ok());
    ASSERT_TRUE((*w)->finish().ok());
    auto info = probeVideo(path);
    ASSERT_TRUE(info.ok()) << info.error().what();
    EXPECT_EQ(info->frames, 17);
    EXPECT_EQ(info->width, 96);
    EXPECT_EQ(info->height, 64);
    EXPECT_EQ(info->codec, "h264");
    EXPECT_NEAR(info->fps, 25.0, 0.01);
}

TEST(VideoFile, BadSizesAndFilesAreErrors) {
    const std::string dir = test::tempDir();
    EXPECT_FALSE(VideoFileWriter::open(dir + "/odd.mp4", 95, 64).ok());
    std::ofstream(dir + "/junk.mp4") << "not a video at all";
    EXPECT_FALSE(probeVideo(dir + "/junk.mp4").ok());
    EXPECT_FALSE(probeVideo(dir + "/missing.mp4").ok());
}

TEST(CameraBookmarks, RoundTripAndBrokenFiles) {
    const std::string dir = test::tempDir();
    std::vector<CameraKey> keys(2);
    keys[0].name = "front";
    keys[0].camera.eye = {0, 1, 5};
    keys[1].name = "side";
    keys[1].camera.eye = {4, 1, 0};
    keys[1].camera.fovYDeg = 35;
    ASSERT_TRUE(writeCameraBookmarks(keys, dir + "/b.json").ok());
    auto back = readCameraBookmarks(dir + "/b.json");
    ASSERT_TRUE(back.ok()) << back.error().what();
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[1].name, "side");
    EXPECT_FLOAT_EQ((*back)[1].camera.fovYDeg, 35.0f);
    EXPECT_FLOAT_EQ((*back)[0].camera.eye.y, 1.0f);

    std::ofstream(dir + "/bad1.json") << "{\"format\": \"brickyard-camera-bookmarks\", \"bookmarks\": [{\"eye\": [1, 2]}]}";
    auto e1 = readCameraBookmarks(dir + "/bad1.json");
    ASSERT_FALSE(e1.ok());
    EXPECT_NE(e1.error().what().find("bookmark 1"), std::string::npos) << e1.error().what();
    std::ofstream(dir + "/bad2.json") << "{\"bookmarks\": []}";
    EXPECT_FALSE(readCameraBookmarks(dir + "/bad2.json").ok());
    std::ofstream(dir + "/bad3.json") << "{\"format\": \"brickyard-camera-bookmarks\", \"bookmarks\": [";
    EXPECT_FALSE(readCameraBookmarks(dir + "/bad3.json").ok());
}

}  // namespace
}  // namespace by
