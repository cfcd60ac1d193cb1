// Package store keeps the referral domain in one DynamoDB table: item shapes, key builders,
// the access patterns (one exported method each) and the conversion transaction.
//
// This file is the key table: every PK, SK and index key of every item is built here and
// nowhere else (docs/DATA-MODEL.md has the full table of access patterns).
//
//	item              PK                   SK                      GSI1PK / GSI2PK         GSI1SK / GSI2SK
//	program           PROGRAM#<id>         PROGRAM                 PROGRAMS                <id>
//	customer          CUSTOMER#<id>        CUSTOMER                -                       -
//	advocate          CUSTOMER#<id>        ADVOCATE#<pid>          -                       -
//	referral          CUSTOMER#<referee>   REFERRAL#<pid>          REFERRALS#<advocate>    <createdAt>#<pid>#<referee>
//	code              CODE#<CODE>          CODE                    -                       -
//	event             EVENT#<eventId>      EVENT                   -                       -
//	reward            REWARD#<id>          REWARD                  REWARDS#<customer>      <createdAt>#<id>
//	ask               ASK#<askId>          ASK                     -                       -
//	ask cooldown      CUSTOMER#<id>        ASKCOOLDOWN#<pid>       -                       -
//	API key           APIKEY#<sha256>      APIKEY                  -                       -
//	API key id        KEY#<keyId>          KEY                     -                       -
//	email marker      EMAIL#<PK>|<SK>      <template>              -                       -
//	stats (month)     STATS#<pid>          MONTH#<YYYY-MM>         -                       -
//	stats (business)  STATS                TOTAL                   -                       -
//	leaderboard entry CUSTOMER#<advocate>  LEADER#<pid>#<YYYY-MM>  LB#<pid>#<YYYY-MM>      <inverted count>#<reachedAt>#<advocate>  (GSI2)
//	applied fact      FACT#<factId>        FACT                    -                       -
//	contest           PROGRAM#<pid>        CONTEST#<YYYY-MM>       -                       -
package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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
)

// The table's secondary indexes.
const (
	// GSI1 holds lists: programs, an advocate's referrals, a customer's rewards.
	GSI1 = "GSI1"
	// GSI2 is the sparse leaderboard index: only leaderboard entries carry its keys.
	GSI2 = "GSI2"
)

const (
	programSK       = "PROGRAM"
	customerSK      = "CUSTOMER"
	codeSK          = "CODE"
	eventSK         = "EVENT"
	rewardSK        = "REWARD"
	askSK           = "ASK"
	apiKeySK        = "APIKEY"
	apiKeyIDSK      = "KEY"
	factSK          = "FACT"
	programsPK      = "PROGRAMS"
	businessStatsPK = "STATS"
	totalSK         = "TOTAL"
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
func apiKeyPK(hash string) string     { return "APIKEY#" + hash }
func apiKeyIDPK(id string) string     { return "KEY#" + id }
func emailPK(sourceKey string) string { return "EMAIL#" + sourceKey }
func contestSK(period string) string  { return "CONTEST#" + period }
func factPK(id string) string         { return "FACT#" + id }
func leaderSK(programID, period string) string {
	return "LEADER#" + programID + "#" + period
}

func referralsByAdvocatePK(advocateID string) string { return "REFERRALS#" + advocateID }
func referralsByAdvocateSK(created time.Time, programID, refereeID string) string {
	return stamp(created) + "#" + programID + "#" + refereeID
}
func rewardsByCustomerPK(customerID string) string { return "REWARDS#" + customerID }
func rewardsByCustomerSK(created time.Time, rewardID string) string {
	return stamp(created) + "#" + rewardID
}

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
