// Project: evaluations, benchmarks, devices, deployments and notes (the rows that hang off
// variants). Assets, variants and opening live in project.cpp.
#include <cmath>

#include "projects/project.h"

namespace by {

namespace {

std::string orEmptyObject(const std::string& json) {
    return json.find_first_not_of(" \t\r\n") == std::string::npos ? std::string("{}") : json;
}

Status requireText(const std::string& s, const char* what) {
    if (s.find_first_not_of(" \t\r\n") == std::string::npos)
        return makeError(ErrorCode::Invalid, std::string(what) + " cannot be empty");
    return {};
}

Status requireFinite(double v, const char* what) {
    if (!std::isfinite(v))
        return makeError(ErrorCode::Invalid, std::string(what) + " must be a finite number");
    return {};
}

}  // namespace

// ---- evaluations -----------------------------------------------------------------------------

Result<int64_t> Project::addEvaluation(int64_t variantId, std::optional<int64_t> datasetAssetId,
                                       const std::string& metric, double value,
                                       const std::string& detailsJson) {
    if (auto st = requireText(metric, "a metric name"); !st) return wrap(st.error());
    if (auto st = requireFinite(value, "an evaluation value"); !st) return wrap(st.error());
    const std::string details = orEmptyObject(detailsJson);
    BY_TRY(checkJson(details, "the evaluation details"));
    int64_t id = 0;
    Status st = transaction([&]() -> Status {
        BY_TRY(requireRow("variants", "variant", variantId));
        if (datasetAssetId) BY_TRY(requireRow("assets", "dataset asset", *datasetAssetId));
        auto ins = Statement::prepare(
            m_db, "INSERT INTO evaluations (variant_id, dataset_asset_id, metric, value, details) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!ins) return ins.error();
        BY_TRY(ins->bind(1, variantId)
                   .bind(2, datasetAssetId)
                   .bind(3, metric)
                   .bind(4, value)
                   .bind(5, details)
                   .run());
        id = m_db.lastInsertId();
        return {};
    });
    if (!st) return wrap(st.error());
    return id;
}

Result<std::vector<Evaluation>> Project::evaluations(std::optional<int64_t> variantId) {
    std::string sql =
        "SELECT id, variant_id, dataset_asset_id, metric, value, details, created_at FROM evaluations";
    if (variantId) sql += " WHERE variant_id = ?1";
    auto st = Statement::prepare(m_db, sql + " ORDER BY id");
    if (!st) return wrap(st.error());
    if (variantId) st->bind(1, *variantId);
    auto r = collectRows<Evaluation>(*st, [](const Statement& s) {
        Evaluation e;
        e.id = s.getInt(0);
        e.variantId = s.getInt(1);
        e.datasetAssetId = s.getOptionalInt(2);
        e.metric = s.getText(3);
        e.value = s.getDouble(4);
        e.detailsJson = s.getText(5);
        e.createdAt = s.getText(6);
        return e;
    });
    if (!r) return wrap(r.error());
    return r;
}

// ---- benchmarks ------------------------------------------------------------------------------

Result<int64_t> Project::addBenchmark(int64_t variantId, std::optional<int64_t> deviceId,
                                      const std::string& metric, double value, const std::string& unit,
                                      const std::string& detailsJson) {
    if (auto st = requireText(metric, "a metric name"); !st) return wrap(st.error());
    if (auto st = requireFinite(value, "a benchmark value"); !st) return wrap(st.error());
    const std::string details = orEmptyObject(detailsJson);
    BY_TRY(checkJson(details, "the benchmark details"));
    int64_t id = 0;
    Status st = transaction([&]() -> Status {
        BY_TRY(requireRow("variants", "variant", variantId));
        if (deviceId) BY_TRY(requireRow("devices", "device", *deviceId));
        auto ins = Statement::prepare(
            m_db, "INSERT INTO benchmarks (variant_id, device_id, metric, value, unit, details) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        if (!ins) return ins.error();
        BY_TRY(ins->bind(1, variantId)
                   .bind(2, deviceId)
                   .bind(3, metric)
                   .bind(4, value)
                   .bind(5, unit)
                   .bind(6, details)
                   .run());
        id = m_db.lastInsertId();
        return {};
    });
    if (!st) return wrap(st.error());
    return id;
}

Result<std::vector<Benchmark>> Project::benchmarks(std::optional<int64_t> variantId) {
    std::string sql =
        "SELECT id, variant_id, device_id, metric, value, unit, details, created_at FROM benchmarks";
    if (variantId) sql += " WHERE variant_id = ?1";
    auto st = Statement::prepare(m_db, sql + " ORDER BY id");
    if (!st) return wrap(st.error());
    if (variantId) st->bind(1, *variantId);
    auto r = collectRows<Benchmark>(*st, [](const Statement& s) {
        Benchmark b;
        b.id = s.getInt(0);
        b.variantId = s.getInt(1);
        b.deviceId = s.getOptionalInt(2);
        b.metric = s.getText(3);
        b.value = s.getDouble(4);
        b.unit = s.getText(5);
        b.detailsJson = s.getText(6);
        b.createdAt = s.getText(7);
        return b;
    });
    if (!r) return wrap(r.error());
    return r;
}

// ---- devices ---------------------------------------------------------------------------------

Result<int64_t> Project::addDevice(const std::string& name, DeviceKind kind, const std::string& address,
                                   const std::string& propertiesJson) {
    if (auto st = requireText(name, "a device name"); !st) return wrap(st.error());
    const std::string props = orEmptyObject(propertiesJson);
    BY_TRY(checkJson(props, "the device properties"));
    auto ins = Statement::prepare(
        m_db, "INSERT INTO devices (name, kind, address, properties) VALUES (?1, ?2, ?3, ?4)");
    if (!ins) return wrap(ins.error());
    if (auto r = ins->bind(1, name).bind(2, deviceKindName(kind)).bind(3, address).bind(4, props).run(); !r)
        return wrap(r.error());
    return m_db.lastInsertId();
}

Result<std::vector<Device>> Project::devices() {
    auto st = Statement::prepare(
        m_db, "SELECT id, name, kind, address, properties, added_at FROM devices ORDER BY id");
    if (!st) return wrap(st.error());
    auto r = collectRows<Device>(*st, [](const Statement& s) {
        Device d;
        d.id = s.getInt(0);
        d.name = s.getText(1);
        d.kind = parseDeviceKind(s.getText(2)).value_or(DeviceKind::Local);
        d.address = s.getText(3);
        d.propertiesJson = s.getText(4);
        d.addedAt = s.getText(5);
        return d;
    });
    if (!r) return wrap(r.error());
    return r;
}

// ---- deployments -----------------------------------------------------------------------------

Result<int64_t> Project::addDeployment(int64_t variantId, int64_t deviceId, DeploymentStatus status,
                                       const std::string& log) {
    int64_t id = 0;
    Status st = transaction([&]() -> Status {
        BY_TRY(requireRow("variants", "variant", variantId));
        BY_TRY(requireRow("devices", "device", deviceId));
        auto ins = Statement::prepare(
            m_db, "INSERT INTO deployments (variant_id, device_id, status, log) VALUES (?1, ?2, "
                  "?3, ?4)");
        if (!ins) return ins.error();
        BY_TRY(ins->bind(1, variantId)
                   .bind(2, deviceId)
                   .bind(3, deploymentStatusName(status))
                   .bind(4, log)
                   .run());
        id = m_db.lastInsertId();
        return {};
    });
    if (!st) return wrap(st.error());
    return id;
}

Status Project::updateDeployment(int64_t id, DeploymentStatus status, const std::string& appendLog) {
    auto st = Statement::prepare(m_db, "UPDATE deployments SET status = ?1, log = log || ?2 WHERE id = ?3");
    if (!st) return wrap(st.error());
    if (auto r = st->bind(1, deploymentStatusName(status)).bind(2, appendLog).bind(3, id).run(); !r)
        return wrap(r.error());
    if (m_db.changes() == 0)
        return wrap(makeError(ErrorCode::Invalid, "no deployment with id " + std::to_string(id)));
    return {};
}

Result<std::vector<Deployment>> Project::deployments(std::optional<int64_t> variantId) {
    std::string sql = "SELECT id, variant_id, device_id, status, created_at, log FROM deployments";
    if (variantId) sql += " WHERE variant_id = ?1";
    auto st = Statement::prepare(m_db, sql + " ORDER BY id");
    if (!st) return wrap(st.error());
    if (variantId) st->bind(1, *variantId);
    auto r = collectRows<Deployment>(*st, [](const Statement& s) {
        Deployment d;
        d.id = s.getInt(0);
        d.variantId = s.getInt(1);
        d.deviceId = s.getInt(2);
        d.status = parseDeploymentStatus(s.getText(3)).value_or(DeploymentStatus::Failed);
        d.createdAt = s.getText(4);
        d.log = s.getText(5);
        return d;
    });
    if (!r) return wrap(r.error());
    return r;
}

// ---- notes -----------------------------------------------------------------------------------

namespace {
// The table a note target lives in, for checking that it exists.
const char* targetTable(NoteTargetKind k) {
    switch (k) {
    case NoteTargetKind::Project: return nullptr;
    case NoteTargetKind::Asset: return "assets";
    case NoteTargetKind::Variant: return "variants";
    case NoteTargetKind::Evaluation: return "evaluations";
    case NoteTargetKind::Benchmark: return "benchmarks";
    case NoteTargetKind::Device: return "devices";
    case NoteTargetKind::Deployment: return "deployments";
    }
    return nullptr;
}
}  // namespace

Result<int64_t> Project::addNote(const NoteTarget& target, const std::string& text) {
    if (auto st = requireText(text, "a note"); !st) return wrap(st.error());
    const char* table = targetTable(target.kind);
    if (table && !target.id)
        return wrap(makeError(ErrorCode::Invalid, std::string("a note about a ") +
                                                      noteTargetKindName(target.kind) + " needs its id"));
    int64_t id = 0;
    Status st = transaction([&]() -> Status {
        if (table) BY_TRY(requireRow(table, noteTargetKindName(target.kind), *target.id));
        auto ins =
            Statement::prepare(m_db, "INSERT INTO notes (target_kind, target_id, text) VALUES (?1, ?2, ?3)");
        if (!ins) return ins.error();
        const std::optional<int64_t> targetId = table ? target.id : std::nullopt;
        BY_TRY(ins->bind(1, noteTargetKindName(target.kind)).bind(2, targetId).bind(3, text).run());
        id = m_db.lastInsertId();
        return {};
    });
    if (!st) return wrap(st.error());
    return id;
}

Result<std::vector<Note>> Project::notes(std::optional<NoteTarget> target) {
    std::string sql = "SELECT id, target_kind, target_id, text, created_at FROM notes";
    if (target) sql += " WHERE target_kind = ?1 AND target_id IS ?2";
    auto st = Statement::prepare(m_db, sql + " ORDER BY id");
    if (!st) return wrap(st.error());
    if (target) {
        const std::optional<int64_t> targetId = targetTable(target->kind) ? target->id : std::nullopt;
        st->bind(1, noteTargetKindName(target->kind)).bind(2, targetId);
    }
    auto r = collectRows<Note>(*st, [](const Statement& s) {
        Note n;
        n.id = s.getInt(0);
        n.target.kind = parseNoteTargetKind(s.getText(1)).value_or(NoteTargetKind::Project);
        n.target.id = s.getOptionalInt(2);
        n.text = s.getText(3);
        n.createdAt = s.getText(4);
        return n;
    });
    if (!r) return wrap(r.error());
    return r;
}

Status Project::removeNote(int64_t id) {
    auto st = Statement::prepare(m_db, "DELETE FROM notes WHERE id = ?1");
    if (!st) return wrap(st.error());
    if (auto r = st->bind(1, id).run(); !r) return wrap(r.error());
    if (m_db.changes() == 0) return wrap(makeError(ErrorCode::Invalid, "no note with id " + std::to_string(id)));
    return {};
}

}  // namespace by
