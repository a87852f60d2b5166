package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/snapexport/snapexport"
)

// showProgress renders a task's progress on w until the channel closes: a
// bar redrawn in place on a terminal, one line per change otherwise (so a
// log file is readable), nothing for "none".
func showProgress(w io.Writer, ch <-chan snapexport.Progress, mode string) {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	var last snapexport.Progress
	lastLine := time.Time{}
	for p := range ch {
		switch mode {
		case "bar":
			fmt.Fprintf(w, "\r\033[K%s", bar(p))
			if p.Status.Final() {
				fmt.Fprintln(w)
			}
		case "lines":
			// A line when the status or table count changes, else at most
			// one every two seconds.
			if p.Status != last.Status || p.TablesCompleted != last.TablesCompleted || p.Status.Final() || time.Since(lastLine) >= 2*time.Second {
				fmt.Fprintln(w, line(p))
				lastLine = time.Now()
			}
		}
		last = p
	}
}

func bar(p snapexport.Progress) string {
	const width = 30
	filled := p.PercentProgress * width / 100
	return fmt.Sprintf("%-11s [%s%s] %3d%%  %d/%d tables  %s rows  %s",
		p.Status, strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.PercentProgress,
		p.TablesCompleted, p.TablesTotal, count(p.Rows), size(p.Bytes))
}

func line(p snapexport.Progress) string {
	s := fmt.Sprintf("%s %s %d%% tables %d/%d rows %d bytes %d", p.Time.Format(time.RFC3339), p.Status, p.PercentProgress,
		p.TablesCompleted, p.TablesTotal, p.Rows, p.Bytes)
	if p.Table != "" {
		s += " table " + p.Table
	}
	return s
}

func count(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
