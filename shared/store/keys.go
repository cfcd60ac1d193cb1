// Package store keeps the referral domain in one DynamoDB table: item shapes, key builders,
// the access patterns (one exported method each) and the conversion transaction.
//
// This file is the key table: every PK, SK and index key of every item is built here and
// nowhere else (docs/DATA-MODEL.md has the full table of access patterns).
//
// GSI5 is keyed on GSI1PK and GSI1SK (it replaced GSI1, which had the same keys and projected
// every attribute, see indexKeys); GSI2 on GSI2PK and GSI2SK.
//
//	item              PK                   SK                      GSI1PK / GSI2PK         GSI1SK / GSI2SK
//	program           PROGRAM#<id>         PROGRAM                 PROGRAMS                <id>
//	customer          CUSTOMER#<id>        CUSTOMER                -                       -
//	advocate          CUSTOMER#<id>        ADVOCATE#<pid>          -                       -  (GSI2 legacy, see below)
//	referral          CUSTOMER#<referee>   REFERRAL#<pid>          REFERRALS#<advocate>    <createdAt>#<pid>#<referee>
//	code              CODE#<CODE>          CODE                    -                       -
//	event             EVENT#<eventId>      EVENT                   -                       -
//	reward            REWARD#<id>          REWARD                  REWARDS#<customer>      <createdAt>#<id>
//	ask               ASK#<askId>          ASK                     -                       -
//	scheduled ask     ASK#<askId>          SCHEDULE                -                       -
//	ask cooldown      CUSTOMER#<id>        ASKCOOLDOWN#<pid>       -                       -
//	API key           APIKEY#<sha256>      APIKEY                  -                       -
//	API key id        KEY#<keyId>          KEY                     APIKEYS                 <keyId>
//	email marker      EMAIL#<PK>|<SK>      <template>              -                       -
//	stats (month)     STATS#<pid>          MONTH#<YYYY-MM>         -                       -
//	stats (business)  STATS                TOTAL                   -                       -
//	leaderboard entry CUSTOMER#<advocate>  LEADER#<pid>#<YYYY-MM>  -                       -  (GSI2 legacy, see below)
//	shard checkpoint  SHARD#<shardId>      INSIGHTS                -                       -
//	contest           PROGRAM#<pid>        CONTEST#<YYYY-MM>       -                       -
//	board             PROGRAM#<pid>        BOARD#<YYYY-MM>         -                       -  (a month's leaderboard, kept by the insights)
//	webhook endpoint  WEBHOOK#<id>         WEBHOOK                 WEBHOOKS                <createdAt>#<id>  (DELETEDWEBHOOKS once deleted)
//	webhook count     WEBHOOKS             COUNT                   -                       -
//	webhook delivery  WHDELIVERY#<id>      DELIVERY                WHDELIVERIES#<endpoint> <createdAt>#<id>
//	referee email     REFEREEEMAIL#<pid>#<sha256 of the normalized address>  REFEREEEMAIL
//	coupon pool       POOL#<pool>          POOL                    -                       -
//	pool code (free)  POOL#<pool>          AVAILABLE#<code>        -                       -
//	pool code (used)  POOL#<pool>          USED#<code>             -                       -
//	email copy        PROGRAM#<pid>        EMAILCOPY#<template>#<lang>  -              -
//	suppressed        SUPPRESSED#<sha256 of the address>  SUPPRESSED   -              -
//	reminder          CUSTOMER#<id>        REMINDER#<pid>#<n>      -                       -
//	click             CLICK#<clickId>      CLICK (ttl: 3 days)     -                       -
//
// GSI2 is legacy: standings and leaderboard entries written before the insights kept a board
// per program and month carry GSI2PK LB#<pid>#<YYYY-MM> (LB#<pid># before the advocate's first
// conversion) and GSI2SK <inverted count>#<reachedAt>#<advocate>; nothing writes them any more.
// A month without a board is read from them, and a month's board is seeded from them.
//
// GSI4 keys, GSI3PK and GSI3SK (lists by program; the index replaced GSI3, which had the same
// keys and projected every attribute, see indexKeys):
//
//	referral          GSI3PK PROGRAMREFERRALS#<pid>    GSI3SK <createdAt>#<referee>   (read newest first)
//	reward            GSI3PK RQ#<pid>#<queue>          GSI3SK <due>#<rewardId>
//	scheduled ask     GSI3PK ASKSDUE#<pid>             GSI3SK <sendAt>#<askId>        ("~#<askId>" once sent or skipped)
//	code              GSI3PK REMINDERS#<pid>           GSI3SK <since>#<CODE>          ("~#<CODE>" once shared or reminded enough)
//
// A reward's queue is its stored status, or "failed" while its fulfilment failed; its due time
// is when the scheduler next has work on it (a pending reward's hold end, an unfulfilled
// reward's expiry; "~" for never), so due work is one Query with GSI3SK <= now. A code's
// "since" is when it was created or its advocate last reminded: it is due for a reminder
// emails.reminderAfterDays later, so one Query with GSI3SK <= now - reminderAfterDays.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/referral/referrals/shared/referral"
)

// Item types, stored in the "type" attribute so stream consumers can filter on it.
const (
	TypeProgram  = "program"
	TypeCustomer = "customer"
	TypeAdvocate = "advocate"
	TypeReferral = "referral"
	TypeCode     = "code"
	TypeEvent    = "event"
	TypeReward   = "reward"
	// TypeRefereeEmail reserves a normalized referee email in a program.
	TypeRefereeEmail = "referee-email"
	TypeCouponPool   = "coupon-pool"
	TypeCouponCode   = "coupon-code"
)

// The table's secondary indexes.
const (
	// GSI2 is the legacy leaderboard index: standings and leaderboard entries written before
	// the months' boards were kept carry its keys (see the key table).
	GSI2 = "GSI2"
	// GSI4 lists by program: its referrals, its rewards by queue and due time, its scheduled
	// asks and codes due a reminder. Its keys are GSI3PK and GSI3SK; it holds keys only, the
	// items are read from the table (lists.go).
	GSI4 = "GSI4"
	// GSI5 holds lists: programs, an advocate's referrals, a customer's rewards, the API keys,
	// the webhook endpoints and an endpoint's deliveries. Its keys are GSI1PK and GSI1SK; it
	// holds keys only, the items are read from the table (lists.go).
	GSI5 = "GSI5"
)

// indexKeys are the names of an index's partition and sort key attributes. GSI4 and GSI5 kept
// the key attributes of GSI3 and GSI1, the indexes they replaced, so that DynamoDB fills them
// from the items as they are (an index's projection cannot change in place).
func indexKeys(index string) (pk, sk string) {
	switch index {
	case GSI4:
		return "GSI3PK", "GSI3SK"
	case GSI5:
		return "GSI1PK", "GSI1SK"
	}
	return index + "PK", index + "SK"
}

const (
	programSK       = "PROGRAM"
	customerSK      = "CUSTOMER"
	codeSK          = "CODE"
	eventSK         = "EVENT"
	rewardSK        = "REWARD"
	askSK           = "ASK"
	apiKeySK        = "APIKEY"
	apiKeyIDSK      = "KEY"
	checkpointSK    = "INSIGHTS"
	programsPK      = "PROGRAMS"
	apiKeysPK       = "APIKEYS"
	businessStatsPK = "STATS"
	totalSK         = "TOTAL"
	refereeEmailSK  = "REFEREEEMAIL"
	clickSK         = "CLICK"
	// never sorts after every stamp: the due time of a reward with nothing due.
	never      = "~"
	webhookSK  = "WEBHOOK"
	webhooksPK = "WEBHOOKS"
	// deletedWebhooksPK is where a deleted endpoint's GSI1PK goes: off the list, never read.
	deletedWebhooksPK = "DELETEDWEBHOOKS"
	webhookCountSK    = "COUNT"
	deliverySK        = "DELIVERY"
)

func programPK(id string) string         { return "PROGRAM#" + id }
func customerPK(id string) string        { return "CUSTOMER#" + id }
func advocateSK(programID string) string { return "ADVOCATE#" + programID }
func referralSK(programID string) string { return "REFERRAL#" + programID }
func codePK(code string) string          { return "CODE#" + strings.ToUpper(code) }
func eventPK(eventID string) string      { return "EVENT#" + eventID }
func rewardPK(id string) string          { return "REWARD#" + id }
func askPK(askID string) string          { return "ASK#" + askID }
func askCooldownSK(programID string) string {
	return "ASKCOOLDOWN#" + programID
}
func apiKeyPK(hash string) string      { return "APIKEY#" + hash }
func apiKeyIDPK(id string) string      { return "KEY#" + id }
func emailPK(sourceKey string) string  { return "EMAIL#" + sourceKey }
func contestSK(period string) string   { return "CONTEST#" + period }
func checkpointPK(shard string) string { return "SHARD#" + shard }
func clickPK(id string) string         { return "CLICK#" + id }
func leaderSK(programID, period string) string {
	return "LEADER#" + programID + "#" + period
}
func periodBoardSK(period string) string { return "BOARD#" + period }

func emailCopySK(template, lang string) string { return emailCopyPrefix + template + "#" + lang }
func suppressedPK(hash string) string          { return "SUPPRESSED#" + hash }
func reminderSK(programID string, n int) string {
	return fmt.Sprintf("REMINDER#%s#%03d", programID, n)
}

// scheduledAskSK is the SK of an ask scheduled for later, in the partition of the ask it
// becomes (askPK).
const scheduledAskSK = "SCHEDULE"

func asksDuePK(programID string) string { return "ASKSDUE#" + programID }
func asksDueSK(sendAt time.Time, askID string) string {
	return stamp(sendAt) + "#" + askID
}
func asksDoneSK(askID string) string { return never + "#" + askID }

// remindersPK lists a program's codes by when their advocates were last reminded (or the
// code was created).
func remindersPK(programID string) string { return "REMINDERS#" + programID }
func remindersSK(since time.Time, code string) string {
	return stamp(since) + "#" + strings.ToUpper(code)
}
func remindersDoneSK(code string) string { return never + "#" + strings.ToUpper(code) }

// dueBy bounds a Query of a due-time partition of GSI4 to the items due at or before t.
func dueBy(t time.Time) string { return stamp(t) + "#~" }

const (
	emailCopyPrefix = "EMAILCOPY#"
	suppressedSK    = "SUPPRESSED"
)

func webhookPK(id string) string  { return "WEBHOOK#" + id }
func deliveryPK(id string) string { return "WHDELIVERY#" + id }
func webhooksSK(created time.Time, id string) string {
	return stamp(created) + "#" + id
}
func deliveriesPK(endpointID string) string { return "WHDELIVERIES#" + endpointID }
func deliveriesSK(created time.Time, id string) string {
	return stamp(created) + "#" + id
}

func referralsByAdvocatePK(advocateID string) string { return "REFERRALS#" + advocateID }
func referralsByAdvocateSK(created time.Time, programID, refereeID string) string {
	return stamp(created) + "#" + programID + "#" + refereeID
}

// programOf is the id of a program by its key.
func programOf(k listedKey) string {
	id, _ := strings.CutPrefix(k.PK, programPK(""))
	return id
}

// referralOf is the referee of a referral's key when the referral is in program programID.
func referralOf(k listedKey, programID string) (refereeID string, ok bool) {
	if k.SK != referralSK(programID) {
		return "", false
	}
	return strings.CutPrefix(k.PK, customerPK(""))
}

func rewardsByCustomerPK(customerID string) string { return "REWARDS#" + customerID }
func rewardsByCustomerSK(created time.Time, rewardID string) string {
	return stamp(created) + "#" + rewardID
}

// refereeEmailPK is the reservation of a normalized referee email in a program. The address
// itself is not in the key, only its SHA-256.
func refereeEmailPK(programID, normalizedEmail string) string {
	sum := sha256.Sum256([]byte(normalizedEmail))
	return "REFEREEEMAIL#" + programID + "#" + hex.EncodeToString(sum[:])
}

func programReferralsPK(programID string) string { return "PROGRAMREFERRALS#" + programID }
func programReferralsSK(created time.Time, refereeID string) string {
	return stamp(created) + "#" + refereeID
}

// Reward queues: a stored status, or QueueFailed for an approved reward whose fulfilment failed.
const QueueFailed = "failed"

// rewardQueue is the queue a reward is listed in.
func rewardQueue(r referral.Reward) string {
	if r.Status == referral.RewardApproved && r.Fulfilment != nil && r.Fulfilment.Status == referral.FulfilmentFailed {
		return QueueFailed
	}
	return r.Status
}

func rewardQueuePK(programID, queue string) string { return "RQ#" + programID + "#" + queue }

// rewardQueueSK orders a queue by when the scheduler next has work on the reward
// (referral.Reward.Due: a pending reward's hold end, an unfulfilled reward's expiry, an
// automatic fulfilment, a reversed credit to take back), never for the others.
func rewardQueueSK(r referral.Reward) string {
	due := never
	if t := r.Due(); t != nil {
		due = stamp(*t)
	}
	return due + "#" + r.RewardID
}

// Coupon pools: the pool's counters, and one item per code, available or used.
func poolPK(pool string) string          { return "POOL#" + pool }
func poolAvailableSK(code string) string { return poolAvailablePrefix + code }
func poolUsedSK(code string) string      { return "USED#" + code }

const (
	poolSK              = "POOL"
	poolAvailablePrefix = "AVAILABLE#"
)

// statsPK is a program's stats partition, or the business-wide one for "".
func statsPK(programID string) string {
	if programID == "" {
		return businessStatsPK
	}
	return "STATS#" + programID
}

// statsSK is a month's aggregate, or the all-time total for "".
func statsSK(month string) string {
	if month == "" {
		return totalSK
	}
	return "MONTH#" + month
}

func leaderboardPK(programID, period string) string { return "LB#" + programID + "#" + period }

// maxRankedCount is the largest count the leaderboard sort key can order (10 digits).
const maxRankedCount = 9_999_999_999

// leaderboardSK sorts more conversions first, then who reached that count first, then the
// advocate id (so order is total).
func leaderboardSK(count int, reached time.Time, advocateID string) string {
	return fmt.Sprintf("%010d#%s#%s", maxRankedCount-min(count, maxRankedCount), stamp(reached), advocateID)
}

func parseLeaderboardSK(sk string) (count int, reached time.Time, advocateID string, err error) {
	parts := strings.SplitN(sk, "#", 3)
	if len(parts) != 3 {
		return 0, time.Time{}, "", fmt.Errorf("leaderboard key %q", sk)
	}
	inv, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, time.Time{}, "", fmt.Errorf("leaderboard key %q: %w", sk, err)
	}
	reached, err = parseStamp(parts[1])
	if err != nil {
		return 0, time.Time{}, "", fmt.Errorf("leaderboard key %q: %w", sk, err)
	}
	return maxRankedCount - inv, reached, parts[2], nil
}

// stampLayout renders times fixed-width in UTC, so that string order is time order.
const stampLayout = "2006-01-02T15:04:05.000000Z"

// stamp renders t so that string order is time order.
func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

// parseStamp reads a time written by stamp.
func parseStamp(s string) (time.Time, error) { return time.Parse(stampLayout, s) }
