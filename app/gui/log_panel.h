#pragma once
// The log list of the bottom dock: one row per message with time, severity and the sentence.
// Old rows fall off past a fixed limit so a long session cannot grow it without bound.
#include <QString>
#include <QWidget>

class QTreeWidget;

class LogPanel : public QWidget {
    Q_OBJECT
public:
    enum class Severity { Info, Warning, Error };

    explicit LogPanel(QWidget* parent = nullptr);

    void append(Severity severity, const QString& message);
    void clear();

    int entryCount() const;
    QString entryMessage(int row) const;
    Severity entrySeverity(int row) const;
    int countOf(Severity severity) const;

    static constexpr int kMaxEntries = 5000;

signals:
    void entryAdded(LogPanel::Severity severity, const QString& message);

private:
    QTreeWidget* m_list = nullptr;
};
