#include "app/gui/display_format.h"

#include <QLocale>
#include <cmath>

namespace display {

QString count(int64_t n) {
    return QLocale(QLocale::English).toString(static_cast<qlonglong>(n));
}

QString compactCount(int64_t n) {
    const double a = std::abs(double(n));
    if (a >= 1e9) return QString::number(n / 1e9, 'f', 2) + QStringLiteral(" G");
    if (a >= 1e6) return QString::number(n / 1e6, 'f', 2) + QStringLiteral(" M");
    if (a >= 1e4) return QString::number(n / 1e3, 'f', 1) + QStringLiteral(" K");
    return count(n);
}

QString bytes(int64_t n) {
    const double v = double(n);
    if (v >= 1024.0 * 1024 * 1024)
        return QString::number(v / (1024.0 * 1024 * 1024), 'f', 2) + QStringLiteral(" GiB");
    if (v >= 1024.0 * 1024) return QString::number(v / (1024.0 * 1024), 'f', 1) + QStringLiteral(" MiB");
    if (v >= 1024.0) return QString::number(v / 1024.0, 'f', 1) + QStringLiteral(" KiB");
    return QString::number(n) + QStringLiteral(" B");
}

QString number(double v) {
    if (std::isnan(v)) return QStringLiteral("nan");
    if (std::isinf(v)) return v > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    if (v == 0) return QStringLiteral("0");
    const double a = std::abs(v);
    if (a >= 1e5 || a < 1e-4) return QString::number(v, 'e', 3);
    return QString::number(v, 'g', 5);
}

QString percent(double fraction) {
    return QString::number(fraction * 100.0, 'f', fraction < 0.001 && fraction > 0 ? 3 : 1) +
           QLatin1Char('%');
}

QString shape(const std::optional<by::DimShape>& s) {
    if (!s) return QStringLiteral("?");
    return QString::fromStdString(by::dimShapeToString(*s));
}

QString dtype(by::DType t) {
    if (t == by::DType::Undefined) return QStringLiteral("?");
    return QString::fromLatin1(by::dtypeName(t));
}

QString formatName(const std::string& format) {
    if (format == "onnx") return QStringLiteral("ONNX");
    if (format == "tflite") return QStringLiteral("TFLite");
    if (format == "gguf") return QStringLiteral("GGUF");
    if (format == "safetensors") return QStringLiteral("safetensors");
    return QString::fromStdString(format);
}

QString valueSignature(const by::Value& v) {
    return QStringLiteral("%1: %2 %3").arg(QString::fromStdString(v.name), dtype(v.dtype), shape(v.shape));
}

} // namespace display
