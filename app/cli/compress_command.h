#pragma once
// `brickyard-cli compress MODEL (--recipe R.json | --quantize .. | --prune .. | --lowrank ..) -o OUT`
// and `brickyard-cli sweep MODEL --quantize int8 --prune 2:4 ... --eval SPEC`: compression passes
// from the command line, with the per-layer report, optional evaluation of parent and child on a
// dataset (quality cost and measured speedup) and, with --project, the child recorded as a
// variant of the parent with its recipe and results.
#include <string>
#include <vector>

#include "engine/compression.h"

namespace by::cli {
int compressCommand(const std::vector<std::string>& args);
int sweepCommand(const std::vector<std::string>& args);
// `brickyard-cli search MODEL --quantize ... --eval SPEC --max-drop P`: per-layer sensitivity, a
// greedy per-layer mix within the quality goal, and the size/quality Pareto front.
int searchCommand(const std::vector<std::string>& args);
// What compress() needs to make a recorded recipe again (calibration data for static int8 read
// as the compress verb reads it).
CompressContext replayContext(const Model& model);
// Fills in the input normalisation a calibration leaves open, as the compress verb does:
// `normalizeText` ("scale=1/255,...") when given, else the model's recorded one, else 1/255 for
// byte inputs; CTC models need none (their lines are prepared as evaluation prepares them).
Status completeCalibration(const Model& model, ActivationCalibration& c, const std::string& normalizeText);
}  // namespace by::cli
