package dynamo

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/referral/referrals/devkit/dynamostream"
)

// stateFile is what the embedded engine keeps between runs of `make dev`: every item of every table.
type stateFile struct {
	Version int               `json:"version"`
	SavedAt time.Time         `json:"savedAt"`
	Tables  map[string][]item `json:"tables"`
}

// Save scans every table and writes the items to path atomically. It returns the item count.
func (d *Embedded) Save(path string) (int, error) {
	d.mu.Lock()
	tables := slices.Sorted(maps.Keys(d.tables))
	d.mu.Unlock()
	st := stateFile{Version: 1, SavedAt: time.Now().UTC(), Tables: map[string][]item{}}
	n := 0
	for _, t := range tables {
		items, err := d.ScanAll(t)
		if err != nil {
			return 0, fmt.Errorf("scan %s: %w", t, err)
		}
		keys := d.table(t).keys
		sort.Slice(items, func(i, j int) bool {
			return dynamostream.Canonical(keys.Key(items[i])) < dynamostream.Canonical(keys.Key(items[j]))
		})
		if items == nil {
			items = []item{}
		}
		st.Tables[t] = items
		n += len(items)
	}
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return 0, err
	}
	return n, os.Rename(tmp, path)
}

// Restore loads path into the tables without producing stream records. A missing file is a
// fresh start: restored is false and err nil.
func (d *Embedded) Restore(path string) (restored bool, n int, skipped []string, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil, nil
	}
	if err != nil {
		return false, 0, nil, err
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return false, 0, nil, fmt.Errorf("%s: %w (delete it, or run make dev-reset, to start fresh)", path, err)
	}
	for table, items := range st.Tables {
		if d.table(table) == nil {
			skipped = append(skipped, table)
			continue
		}
		for _, it := range items {
			if err := d.putRaw(table, it); err != nil {
				return true, n, skipped, fmt.Errorf("restore %s: %w", table, err)
			}
			n++
		}
	}
	return true, n, skipped, nil
}
