#include "app/cli/lm_commands.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/gpt_model.h"
#include "importers/importer_registry.h"
#include "importers/npy.h"
#include "tests/test_support.h"

namespace by {
namespace {

TEST(LmCommands, TokenizeWritesKnownIds) {
    const std::string dir = test::tempDir();
    {
        std::ofstream f(dir + "/t.txt");
        f << "Hello world";
    }
    ASSERT_EQ(cli::tokenizeCommand({"--text", dir + "/t.txt", "--tokenizer", test::asset("tokenizers/gpt2"), "-o", dir + "/ids.npy"}), 0);
    auto t = readNpy(dir + "/ids.npy");
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->numel(), 2);
    EXPECT_EQ(t->data<int32_t>()[0], 15496);
    EXPECT_EQ(t->data<int32_t>()[1], 995);
}

TEST(LmCommands, BuildWritesAModelTheRuntimeLoads) {
    const std::string dir = test::tempDir();
    const std::string weights = test::asset("models/tiny_gpt");
    ASSERT_EQ(cli::lmCommand({"build", weights, "--type", "q8_0", "-o", dir + "/m.gguf"}), 0);
    auto m = loadModel(dir + "/m.gguf");
    ASSERT_TRUE(m.ok()) << m.error().what();
    auto g = GptModel::fromModel(*m);
    ASSERT_TRUE(g.ok()) << g.error().what();
    EXPECT_EQ((*g)->weightType(), DType::Q8_0);
    EXPECT_EQ((*g)->config().nLayer, 6);
    // The written file must be the one setup produced from the same weights.
    std::ifstream a(dir + "/m.gguf", std::ios::binary), b(test::asset("models/tiny_gpt_q8_0.gguf"), std::ios::binary);
    EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(a), {}, std::istreambuf_iterator<char>(b), {}));
}

TEST(LmCommands, BadInputIsAnErrorNotACrash) {
    const std::string dir = test::tempDir();
    EXPECT_EQ(cli::lmCommand({"build", dir + "/missing", "-o", dir + "/x.gguf"}), 1);
    EXPECT_EQ(cli::lmCommand({"build", test::asset("models/tiny_gpt"), "--type", "q3", "-o", dir + "/x.gguf"}), 2);
    EXPECT_EQ(cli::perplexityCommand({test::asset("models/ch_ppocr_mobile_v2.0_cls_infer.onnx"), "--text", dir + "/none.txt"}), 1);
    {
        std::ofstream f(dir + "/short.txt");
        f << "too short";
    }
    EXPECT_EQ(cli::perplexityCommand({test::asset("models/tiny_gpt_f32.gguf"), "--text", dir + "/short.txt", "--ctx", "64"}), 1);
    EXPECT_EQ(cli::generateCommand({test::asset("models/tiny_gpt_f32.gguf"), "--prompt", "Hi", "-n", "4", "--top-k", "20", "--seed", "3"}), 0);
}

}  // namespace
}  // namespace by
