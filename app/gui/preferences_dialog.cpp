#include "app/gui/preferences_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

Preferences Preferences::load() {
    QSettings s;
    Preferences p;
    p.reopenLastProject = s.value(QStringLiteral("prefs/reopenLastProject"), p.reopenLastProject).toBool();
    p.maxRecentFiles =
        std::clamp(s.value(QStringLiteral("prefs/maxRecentFiles"), p.maxRecentFiles).toInt(), 1, 30);
    p.showLogOnError = s.value(QStringLiteral("prefs/showLogOnError"), p.showLogOnError).toBool();
    return p;
}

void Preferences::save() const {
    QSettings s;
    s.setValue(QStringLiteral("prefs/reopenLastProject"), reopenLastProject);
    s.setValue(QStringLiteral("prefs/maxRecentFiles"), maxRecentFiles);
    s.setValue(QStringLiteral("prefs/showLogOnError"), showLogOnError);
}

PreferencesDialog::PreferencesDialog(const Preferences& prefs, QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Preferences"));
    m_reopen = new QCheckBox(tr("Reopen the last project at start"), this);
    m_reopen->setChecked(prefs.reopenLastProject);
    m_recent = new QSpinBox(this);
    m_recent->setRange(1, 30);
    m_recent->setValue(prefs.maxRecentFiles);
    m_showLog = new QCheckBox(tr("Show the log when an error is reported"), this);
    m_showLog->setChecked(prefs.showLogOnError);

    auto* form = new QFormLayout;
    form->addRow(m_reopen);
    form->addRow(m_showLog);
    form->addRow(tr("Recent files to remember:"), m_recent);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
}

Preferences PreferencesDialog::preferences() const {
    Preferences p;
    p.reopenLastProject = m_reopen->isChecked();
    p.maxRecentFiles = m_recent->value();
    p.showLogOnError = m_showLog->isChecked();
    return p;
}
