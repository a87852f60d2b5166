// Package demodb builds the demo SQLite database used by the quickstart
// example, the end-to-end tests and the benchmarks: several tables with
// integers, reals, text (multi-byte too), blobs and NULLs, and one table
// with a column name RDS would skip.
package demodb

import (
	"context"
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Table names of the demo database, with their row counts.
var Tables = map[string]int{
	"customers":    2000,
	"orders":       10000,
	"events":       3000,
	"odd_columns":  10, // has a column named "first name": skipped by the export
	"empty_things": 0,
}

// SkippedTable is the demo table the export skips.
const SkippedTable = "odd_columns"

// Create writes the demo database to path, which must not exist, with the
// row counts of Tables multiplied by scale (scale 1 is a few thousand rows).
func Create(ctx context.Context, path string, scale int) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	if scale < 1 {
		scale = 1
	}
	stmts := []string{
		`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(200), balance REAL, vip BOOLEAN, avatar BLOB, joined DATE)`,
		`CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), amount REAL, quantity INT, note TEXT)`,
		`CREATE TABLE events (at TEXT, kind TEXT, payload BLOB, score DOUBLE)`,
		`CREATE TABLE odd_columns (id INTEGER PRIMARY KEY, "first name" TEXT)`,
		`CREATE TABLE empty_things (id INTEGER PRIMARY KEY, label TEXT)`,
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("demodb: %s: %w", s, err)
		}
	}
	names := []string{"Ada", "Grace", "Linus", "Zoë", "Søren", "李雷", "Ω-man", ""}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	nCust := Tables["customers"] * scale
	for i := 1; i <= nCust; i++ {
		var email, balance, vip, avatar, joined any
		if i%7 != 0 {
			email = fmt.Sprintf("user%d@example.com", i)
		}
		if i%5 != 0 {
			balance = float64(i)*1.25 - 100
		}
		if i%3 != 0 {
			vip = i%2 == 0
		}
		if i%4 == 0 {
			avatar = []byte{byte(i), 0, byte(i >> 8), 0xff}
		}
		if i%6 != 0 {
			joined = fmt.Sprintf("2024-%02d-%02d", i%12+1, i%28+1)
		}
		if _, err := ins.ExecContext(ctx, i, names[i%len(names)], email, balance, vip, avatar, joined); err != nil {
			return err
		}
	}
	ins, err = tx.PrepareContext(ctx, `INSERT INTO orders VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i := 1; i <= Tables["orders"]*scale; i++ {
		var note any
		if i%10 == 0 {
			note = fmt.Sprintf("gift wrap #%d, “fragile”", i)
		}
		if _, err := ins.ExecContext(ctx, i, i%nCust+1, float64(i%1000)/10, i%9, note); err != nil {
			return err
		}
	}
	ins, err = tx.PrepareContext(ctx, `INSERT INTO events VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	kinds := []string{"login", "logout", "purchase", "error"}
	for i := 0; i < Tables["events"]*scale; i++ {
		var payload, score any
		if i%2 == 0 {
			payload = []byte(fmt.Sprintf(`{"n":%d}`, i))
		}
		if i%9 != 0 {
			score = float64(i) / 3
		}
		if _, err := ins.ExecContext(ctx, fmt.Sprintf("2025-01-01T00:%02d:%02dZ", i/60%60, i%60), kinds[i%len(kinds)], payload, score); err != nil {
			return err
		}
	}
	for i := 1; i <= Tables["odd_columns"]; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO odd_columns VALUES (?, ?)`, i, "x"); err != nil {
			return err
		}
	}
	return tx.Commit()
}
