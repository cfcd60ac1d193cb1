// Command screenshots is `make screenshots`: the pages people see, from `make dev`'s data, into
// .local/screenshots (run `make dev` first): the friend page in every language, as a phone
// shows it, and the owner's console dashboard of the demo program, signed in with the dev
// admin key, as a wide screen shows it.
//
// Usage, from the repository root:
//
//	screenshots [-api http://127.0.0.1:3000] [-out .local/screenshots]
//
// -api defaults to DEV_API_ADDR, as `make dev` does. The friend page
// is Ana's (code ANAFRIEND, created with the admin key when the seed has not made it yet), and
// so is the advocate page (her link, signed with the sample key the stack serves). The visits ask for their language with ?lang=, which the friend page does
// not count as visits.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/referral/referrals/devkit/devstack"
	"github.com/referral/referrals/devkit/pagetest"
	"github.com/referral/referrals/shared/locale"
)

const code = "ANAFRIEND"

func main() {
	addr := os.Getenv("DEV_API_ADDR")
	if addr == "" {
		addr = "127.0.0.1:3000"
	}
	api := flag.String("api", "http://"+addr, "the local stack's API")
	out := flag.String("out", ".local/screenshots", "where the PNGs go")
	flag.Parse()
	if err := run(strings.TrimRight(*api, "/"), *out); err != nil {
		log.Fatalf("screenshots: %v", err)
	}
}

func run(api, out string) error {
	if err := ensureCode(api); err != nil {
		return fmt.Errorf("%w (is `make dev` running at %s?)", err, api)
	}
	page := devstack.AdvocatePageURLFrom(api, "demo", "ana")
	b, err := pagetest.Launch("")
	if err != nil {
		return err
	}
	defer b.Close()
	for _, lang := range locale.Languages {
		path := filepath.Join(out, "friend-"+lang+".png")
		if err := b.Shoot(api+"/r/"+code+"?page=1&lang="+lang, lang, path); err != nil {
			return err
		}
		fmt.Println(path)
	}
	for _, lang := range locale.Languages {
		path := filepath.Join(out, "advocate-"+lang+".png")
		if err := b.Shoot(page+"?lang="+lang, lang, path); err != nil {
			return err
		}
		fmt.Println(path)
	}
	path := filepath.Join(out, "console-dashboard.png")
	if err := b.ShootConsole(api+"/console", devstack.DevAdminKey, api+"/console/programs/demo", path); err != nil {
		return fmt.Errorf("the console: %w", err)
	}
	fmt.Println(path)
	return nil
}

// ensureCode makes Ana's vanity code, as the banner's try-it steps do (the same code back if
// it exists).
func ensureCode(api string) error {
	req, err := http.NewRequest(http.MethodPost, api+"/programs/demo/codes", strings.NewReader(`{"customerId":"ana","code":"`+code+`"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+devstack.DevAdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create Ana's code: %d %s", resp.StatusCode, body)
	}
	return nil
}
