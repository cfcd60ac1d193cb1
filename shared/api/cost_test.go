package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
)

// What a warm conversion costs (demo program, one advocate reward, the advocate's second
// conversion of the month), priced from the items it reads and writes as BenchmarkRoundTrips
// and docs/PERFORMANCE.md price them: 1 BatchGetItem (the referral, the absent event,
// eventually consistent: 1 RRU) and 1 TransactWriteItems of four items under 1 KB (event,
// reward, referral, standing: 2 WRU each) and two index writes: the reward in GSI5 and GSI4.
// The referral's index entries are not rewritten: neither GSI5 nor GSI4 projects what the
// conversion changes on it. The standing carries no index key: its board moves the month's
// leaderboard through the stream (the insights' board write, priced per batch below). A larger
// item, one more item or index entry, or one more read shows here before it shows on the bill.
func TestAWarmConversionCostsTenWriteUnitsAndOneReadUnit(t *testing.T) {
	e := newPerfEnv(t, dynamotest.Start(t))
	r := e.container("POST /conversions")
	_, code := e.advocate()
	a, b := e.referee(code), e.referee(code)
	e.call(r, "POST", "/conversions", conversionBody(e.id("order"), a))
	res := e.call(r, "POST", "/conversions", conversionBody(e.id("order"), b))
	if res.status != 201 {
		t.Fatalf("conversion: %d %s", res.status, res.body)
	}
	var table, index, read float64
	var items []string
	for _, q := range res.reqs {
		table += q.WRU
		index += q.GSIWRU
		read += q.RRU
		for _, it := range q.Items {
			items = append(items, fmt.Sprintf("%s %s %d B: %v (+%v on indexes)", q.Op, it.Type, it.Bytes, it.Units, it.GSI))
		}
	}
	if res.roundTrips != 2 || table != 8 || index != 2 || read != 1 {
		t.Errorf("a warm conversion made %v round trips, %v WRU on the table + %v on the indexes, %v RRU; want 2, 8 + 2, 1:\n%v",
			res.roundTrips, table, index, read, items)
	}
}

// TestAConversionAndItsReversalLeaveTheReferralsIndexEntriesAlone: a conversion and its
// reversal each update the referral (stage, reached milestones, version) and write it nowhere
// but in the table: GSI5 and GSI4 list referrals by their keys and project none of what these
// change. The advocate's referrals list, which reads the referrals from the table, shows each
// change at once.
func TestAConversionAndItsReversalLeaveTheReferralsIndexEntriesAlone(t *testing.T) {
	e := newPerfEnv(t, dynamotest.Start(t))
	r := e.container("POST /conversions")
	adv, code := e.advocate()
	ref := e.referee(code)
	order := e.id("order")
	steps := []struct {
		name, target string
		body         any
		status       int
		stage        string // the referral's stage listed afterwards
	}{
		{"conversion", "/conversions", conversionBody(order, ref), 201, `"stage":"purchase"`},
		{"reversal", "/conversions/" + order + "/reverse", map[string]any{"reason": "refund"}, 200, `"stage":""`},
	}
	for _, step := range steps {
		res := e.call(r, "POST", step.target, step.body)
		if res.status != step.status {
			t.Fatalf("%s: %d %s", step.name, res.status, res.body)
		}
		wrote := false
		for _, q := range res.reqs {
			for _, it := range q.Items {
				if it.Type != "referral" || q.Op == "BatchGetItem" || q.Op == "GetItem" {
					continue
				}
				wrote = true
				if it.GSI != 0 {
					t.Errorf("%s: %s of the referral wrote %v WRU on the indexes, want 0", step.name, q.Op, it.GSI)
				}
			}
		}
		if !wrote {
			t.Errorf("%s wrote no referral: the test no longer sees what it checks", step.name)
		}
		listed, _ := json.Marshal(e.must("GET", "/customers/"+adv+"/referrals", nil))
		if !strings.Contains(string(listed), step.stage) {
			t.Errorf("the advocate's referrals after the %s: %s; want %s", step.name, listed, step.stage)
		}
	}
}

// What the insights stream function writes for a batch of conversions, each of its own
// advocate (steady traffic, the month's leaderboard already kept): one ADD update of the
// month's stats and the shard's checkpoint (transactional: 4 WRU) and one write of the
// month's board (1 WRU for 20 advocates), whatever the batch's size; it reads the checkpoint
// and the board (1 RRU each; the program is cached from the batch before). The conversions
// write no leaderboard key of their own (priced in the test above), so a write per advocate
// here would be the bill's largest line: it shows here first.
func TestTheInsightsWriteTheStatsTheCheckpointAndOneBoardPerBatch(t *testing.T) {
	tbl := streamtest.Start(t)
	e := newPerfEnv(t, tbl.DB)
	tbl.SetClock(e.seed.clock)
	programs := &store.ProgramCache{Store: e.store, TTL: platform.ProgramCacheTTL}
	stats := &insights.Consumer{Store: e.store, Programs: programs, Log: quietLog}
	const n = 20
	codes := make([]string, n)
	for i := range codes {
		_, codes[i] = e.advocate()
	}
	size, patterns := streamMappingOf(t, "InsightsStreamFunction")
	for round := range 2 { // the first creates the month's board, the second is priced
		referees := make([]string, n)
		for i, code := range codes {
			referees[i] = e.referee(code)
		}
		tbl.Take()
		for _, r := range referees {
			e.must("POST", "/conversions", conversionBody(e.id("order"), r))
		}
		records := tbl.Take()
		e.meter.take()
		batches, err := streamtest.Batches(records, size, patterns)
		if err != nil {
			t.Fatal(err)
		}
		if len(batches) != 1 {
			t.Fatalf("%d batches, want 1", len(batches))
		}
		resp, err := stats.Handle(context.Background(), streamtest.WindowEvent("shardId-cost", batches[0]))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("insights: %v, %d failed", err, len(resp.BatchItemFailures))
		}
		if round == 0 {
			continue
		}
		var wru, rru float64
		var items []string
		for _, q := range e.meter.take() {
			wru += q.WRU + q.GSIWRU
			rru += q.RRU
			for _, it := range q.Items {
				items = append(items, fmt.Sprintf("%s %s %d B: %v (+%v on indexes)", q.Op, it.Type, it.Bytes, it.Units, it.GSI))
			}
		}
		if wru != 5 || rru != 2 {
			t.Errorf("the insights spent %v WRU and %v RRU on %d conversions; want 5 (the stats item and the checkpoint, transactional; the board) and 2 (the checkpoint, the board):\n%v",
				wru, rru, n, items)
		}
	}
}
