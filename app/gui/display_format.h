#pragma once
// How numbers, sizes, shapes and types read in the GUI. One place, so the summary header, the
// inspector and the project tree agree ("4.52 M", "10.7 MB", "[N,3,48,320]").
#include "engine/graph.h"

#include <QString>
#include <cstdint>
#include <optional>

namespace display {

QString count(int64_t n);        // 1234 -> "1,234"
QString compactCount(int64_t n); // 4523456 -> "4.52 M"
QString bytes(int64_t n);        // 10700000 -> "10.2 MiB"
QString number(double v);        // short, stable float text for statistics
QString percent(double fraction);
QString shape(const std::optional<by::DimShape>& s); // "[N,3,48,320]", "?" when unknown
QString dtype(by::DType t);
QString formatName(const std::string& format); // "onnx" -> "ONNX"
// "x: float32 [N,3,48,320]" for a graph input/output.
QString valueSignature(const by::Value& v);

} // namespace display
