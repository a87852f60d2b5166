// Package notify delivers a task's notifications without ever letting a
// slow reader hold the task up: Latest keeps a reader's newest value
// (progress, which is cumulative), Events delivers every value in order
// and drops what a full channel cannot take (events, whose loss the final
// one reports).
package notify
