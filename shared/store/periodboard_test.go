package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/referral/referrals/devkit/dynamotest"
)

// place is advocate adv's November place: n conversions, reached m minutes into the month's
// 20th, at revision rev.
func place(adv string, n, m int, rev int64) BoardPlace {
	return BoardPlace{ProgramID: "p1", Period: "2026-11", AdvocateID: adv, Conversions: n,
		ReachedAt: nov.Add(time.Duration(m) * time.Minute), Rev: rev}
}

func shown(t *testing.T, s *Store, limit int) []string {
	t.Helper()
	lb, err := s.Leaderboard(context.Background(), "p1", "2026-11", limit)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, e := range lb {
		if e.Rank != i+1 {
			t.Errorf("entry %d has rank %d", i, e.Rank)
		}
		out = append(out, fmt.Sprintf("%s:%d", e.AdvocateID, e.Conversions))
	}
	return out
}

func storedBoard(t *testing.T, s *Store) *periodBoard {
	t.Helper()
	b, err := s.periodBoard(context.Background(), "p1", "2026-11", true)
	if err != nil || b == nil {
		t.Fatalf("board: %v %v", b, err)
	}
	return b
}

func apply(t *testing.T, s *Store, places ...BoardPlace) {
	t.Helper()
	if err := s.ApplyBoards(context.Background(), places); err != nil {
		t.Fatal(err)
	}
}

func TestABoardRanksByCountThenWhoGotThereFirstThenId(t *testing.T) {
	s := newTestStore(t)
	apply(t, s, place("cy", 2, 4, 2), place("ana", 2, 10, 2), place("bo", 2, 4, 2), place("dee", 1, 3, 1), place("eve", 3, 30, 3))
	if got, want := shown(t, s, 10), []string{"eve:3", "bo:2", "cy:2", "ana:2", "dee:1"}; !slices.Equal(got, want) {
		t.Errorf("ranking = %v, want %v (bo and cy reached 2 at the same instant: by id)", got, want)
	}
	if got, want := shown(t, s, 2), []string{"eve:3", "bo:2"}; !slices.Equal(got, want) {
		t.Errorf("top 2 = %v, want %v", got, want)
	}
}

func TestABoardTakesRefundsAndDropsAnAdvocateAtZero(t *testing.T) {
	s := newTestStore(t)
	apply(t, s, place("ana", 2, 1, 2), place("bo", 1, 2, 1))
	// A refund: ana's count goes back to 1, reached at 0:00 (her earlier conversion).
	apply(t, s, place("ana", 1, 0, 3))
	if got, want := shown(t, s, 10), []string{"ana:1", "bo:1"}; !slices.Equal(got, want) {
		t.Errorf("after a refund = %v, want %v", got, want)
	}
	apply(t, s, place("bo", 0, 2, 2))
	if got, want := shown(t, s, 10), []string{"ana:1"}; !slices.Equal(got, want) {
		t.Errorf("after bo's only conversion was refunded = %v, want %v", got, want)
	}
	// bo's place before the refund, delivered late by another shard, does not bring him back.
	apply(t, s, place("bo", 1, 2, 1))
	if got, want := shown(t, s, 10), []string{"ana:1"}; !slices.Equal(got, want) {
		t.Errorf("after a late, older place of bo = %v, want %v", got, want)
	}
}

func TestABoardAppliesARecordTwiceAsOnceAndWritesNothingTheSecondTime(t *testing.T) {
	s := newTestStore(t)
	batch := []BoardPlace{place("ana", 1, 1, 1), place("bo", 2, 3, 2), place("ana", 2, 5, 2)}
	apply(t, s, batch...)
	first := storedBoard(t, s)
	apply(t, s, batch...)
	apply(t, s, batch[0]) // an older place of ana, again
	again := storedBoard(t, s)
	if again.Version != first.Version {
		t.Errorf("the board was written again (version %d → %d) for places it had", first.Version, again.Version)
	}
	if got, want := shown(t, s, 10), []string{"bo:2", "ana:2"}; !slices.Equal(got, want) {
		t.Errorf("ranking = %v, want %v", got, want)
	}
}

// TestABoardKeepsItsBestAdvocatesAndTheHighestCountThatFellOff: the board holds BoardSize
// advocates; the ones below fall off and raise the floor; one who fell off comes back with
// their absolute count when it moves.
func TestABoardKeepsItsBestAdvocatesAndTheHighestCountThatFellOff(t *testing.T) {
	s := newTestStore(t)
	var places []BoardPlace
	for i := range BoardSize + 20 {
		// adv000 has the most; every 10 share a count; later ids reached it later.
		places = append(places, place(fmt.Sprintf("adv%03d", i), 100-i/10, i, 1))
	}
	apply(t, s, places...)
	b := storedBoard(t, s)
	if len(b.Ranked) != BoardSize || b.Ranked[0].AdvocateID != "adv000" || b.Ranked[BoardSize-1].AdvocateID != fmt.Sprintf("adv%03d", BoardSize-1) {
		t.Fatalf("the board holds %d advocates, from %v to %v", len(b.Ranked), b.Ranked[0], b.Ranked[len(b.Ranked)-1])
	}
	if want := 100 - BoardSize/10; b.Floor != want {
		t.Errorf("floor = %d, want %d (the best count that fell off)", b.Floor, want)
	}
	if got := shown(t, s, 100); len(got) != 100 || got[99] != "adv099:91" {
		t.Errorf("the first 100 = %d entries ending %v", len(got), got[len(got)-1:])
	}
	// adv165 fell off at 84; three more conversions take it to 87, ranked among the 87s by
	// time (adv130..adv139 reached 87 before it), and push the last advocate off.
	apply(t, s, place("adv165", 87, 165, 3))
	got := shown(t, s, 150)
	if i := slices.Index(got, "adv165:87"); i != 140 {
		t.Errorf("adv165 ranks %d, want 141 (it reached 87 after the other 87s)", i+1)
	}
	if slices.Contains(got, "adv149:86") {
		t.Errorf("adv149, the last, is still on the board")
	}
	if b := storedBoard(t, s); len(b.Ranked) != BoardSize {
		t.Errorf("the board holds %d advocates", len(b.Ranked))
	}
	// A board of BoardSize advocates with long ids stays a few KB: one write of it costs a few
	// WRU, once per batch.
	raw, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(programPK("p1"), periodBoardSK("2026-11")), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if n := dynamotest.ItemSize(raw.Item); n > 2048 {
		t.Errorf("a full board with short ids is %d bytes, want ≤ 2 KB", n)
	}
}

func TestAFullBoardOfLongIdsStaysUnderFiveKB(t *testing.T) {
	s := newTestStore(t)
	var places []BoardPlace
	for i := range BoardSize {
		id := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", i*2654435761, i*40503, i*97%4096, i*31%4096, i*2246822519)
		reached := nov.Add(time.Duration(i*7919) * time.Second).Add(time.Duration(i) * time.Millisecond)
		places = append(places, BoardPlace{ProgramID: "p1", Period: "2026-11", AdvocateID: id, Conversions: 1 + i%37,
			ReachedAt: reached, Rev: reached.UnixMilli() + int64(i%3)*3_600_000}) // some moved by a refund an hour later
	}
	apply(t, s, places...)
	raw, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(programPK("p1"), periodBoardSK("2026-11")), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	n := dynamotest.ItemSize(raw.Item)
	if n > 5*1024 {
		t.Errorf("a full board of UUID ids is %d bytes, want ≤ 5 KB (5 WRU a write)", n)
	}
	t.Logf("a full board of %d UUID ids: %d bytes", BoardSize, n)
	b := storedBoard(t, s)
	for i, r := range b.Ranked {
		p := places[slices.IndexFunc(places, func(p BoardPlace) bool { return p.AdvocateID == r.AdvocateID })]
		if r.Conversions != p.Conversions || !r.ReachedAt.Equal(p.ReachedAt) || r.Rev != p.Rev {
			t.Fatalf("rank %d reads back as %+v, was %+v", i+1, r, p)
		}
	}
}

// TestTwoShardsMovingOneBoardAtOnceLoseNothing: batches of four shards write one board at the
// same time, back to back; the version check makes the later one read again, so every place is
// kept. Each runs with a deadline, as in Lambda, which bounds its retries.
func TestTwoShardsMovingOneBoardAtOnceLoseNothing(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for shard := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				adv := fmt.Sprintf("s%d-%02d", shard, i)
				errs <- s.ApplyBoards(ctx, []BoardPlace{place(adv, 1+i, i, int64(1+i))})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := shown(t, s, 100)
	if len(got) != 40 || got[0] != "s0-09:10" {
		t.Errorf("ranking of 40 advocates from 4 shards = %v", got)
	}
	if b := storedBoard(t, s); b.Version != 39 {
		t.Errorf("version %d after 40 writes, want 39 (the first write creates it at 0)", b.Version)
	}
}

// TestABoardIsSeededFromTheIndexOfItsPeriod: a period whose standings and entries were ranked
// on GSI2 before the upgrade is read from GSI2 until its first change; the board that change
// creates starts from GSI2, so the advocates who have not moved since stay ranked.
func TestABoardIsSeededFromTheIndexOfItsPeriod(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	legacy := func(adv string, n, m int) {
		t.Helper()
		it := mustMarshal(leaderItem{PK: customerPK(adv), SK: leaderSK("p1", "2026-11"), Type: TypeLeader, ProgramID: "p1",
			AdvocateID: adv, board: board{Period: "2026-11", Conversions: n, ReachedAt: nov.Add(time.Duration(m) * time.Minute)}})
		withGSI2(it, n, nov.Add(time.Duration(m)*time.Minute), adv)
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	legacy("ana", 3, 1)
	legacy("bo", 2, 2)
	legacy("cy", 1, 3)
	legacy("dee", 0, 4) // every conversion refunded: never shown
	if got, want := shown(t, s, 10), []string{"ana:3", "bo:2", "cy:1"}; !slices.Equal(got, want) {
		t.Errorf("before the first change (from GSI2) = %v, want %v", got, want)
	}
	apply(t, s, place("bo", 4, 9, 1), place("eve", 1, 0, 1))
	if got, want := shown(t, s, 10), []string{"bo:4", "ana:3", "eve:1", "cy:1"}; !slices.Equal(got, want) {
		t.Errorf("after the first change = %v, want %v", got, want)
	}
	// More advocates on the index than a board holds: the best are seeded, the floor is set.
	s2 := newTestStore(t)
	s = s2
	for i := range BoardSize + 5 {
		legacy(fmt.Sprintf("adv%03d", i), 200-i, i)
	}
	apply(t, s, place("new", 500, 0, 1))
	b := storedBoard(t, s)
	if len(b.Ranked) != BoardSize || b.Ranked[0].AdvocateID != "new" || b.Floor != 200-(BoardSize-1) {
		t.Errorf("seeded board: %d advocates, first %v, floor %d; want %d, new, %d", len(b.Ranked), b.Ranked[0], b.Floor, BoardSize, 200-(BoardSize-1))
	}
}

// TestAnAdvocatesBoardMovesAheadOfEveryEarlierMove: each move's Rev is its time (or one more
// than the last), so it orders the moves of the standing and of the entry frozen from it, and
// a board written without Rev (by the version before) is followed by a move ahead of all.
func TestAnAdvocatesBoardMovesAheadOfEveryEarlierMove(t *testing.T) {
	var b board
	b.add(nov)
	first := b.Rev
	b.add(nov) // the same millisecond
	if b.Rev != first+1 || first != nov.UnixMilli() {
		t.Errorf("revs %d, %d; want %d, %d", first, b.Rev, nov.UnixMilli(), nov.UnixMilli()+1)
	}
	b.remove(nov, nov.Add(time.Hour))
	if b.Rev != nov.Add(time.Hour).UnixMilli() || b.Conversions != 1 {
		t.Errorf("after a refund an hour later: %+v", b)
	}
	b.Rev = 0 // written by a version that did not keep it
	b.add(nov.Add(2 * time.Hour))
	if b.Rev <= nov.Add(time.Hour).UnixMilli() {
		t.Errorf("rev %d after a board without one: behind the refund's", b.Rev)
	}
}
