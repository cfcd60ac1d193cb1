// Command samples renders every email template in every language with sample data into a
// folder (default .local/emails), as <lang>/<template>.html and .txt, for people to read:
//
//	go run ./shared/email/cmd/samples [dir]   (or: make emails)
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/referral/referrals/shared/email"
)

func main() {
	dir := filepath.Join(".local", "emails")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := email.WriteSamples(dir); err != nil {
		fmt.Fprintln(os.Stderr, "samples:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d templates × %d languages to %s (open %s)\n", len(email.Templates), len(email.Languages),
		dir, filepath.Join(dir, "en", email.Templates[0]+".html"))
}
