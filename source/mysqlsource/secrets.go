package mysqlsource

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// EnvPassword is the environment variable the password is taken from when
// neither the URL nor its option file gives one, as the mysql client does.
const EnvPassword = "MYSQL_PWD"

// applySecrets fills in the user and password the URL leaves out: from the
// [client] group of the option file the URL parameter option_file names
// (the mysql client's ~/.my.cnf format), then from MYSQL_PWD. A password in
// the URL wins; the URL's user wins over the file's. Errors name the file,
// never a value read from it.
func applySecrets(cfg *mysql.Config, user *url.Userinfo, optionFile string) error {
	_, urlHasPassword := user.Password()
	if optionFile != "" {
		opts, err := readOptionFile(optionFile)
		if err != nil {
			return err
		}
		if cfg.User == "" {
			cfg.User = opts["user"]
		}
		if p, ok := opts["password"]; ok && !urlHasPassword {
			cfg.Passwd = p
			urlHasPassword = true
		}
	}
	if p, ok := os.LookupEnv(EnvPassword); ok && !urlHasPassword {
		cfg.Passwd = p
	}
	return nil
}

// readOptionFile reads the options of the [client] group of a MySQL option
// file: "name=value" lines, values optionally in single or double quotes,
// comments starting with # or ;. Other groups and !include directives are
// ignored.
func readOptionFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: option_file %q: %w", path, err)
	}
	defer f.Close()
	opts := map[string]string{}
	group := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';' || line[0] == '!':
			continue
		case line[0] == '[':
			group = strings.ToLower(strings.TrimSpace(strings.Trim(line, "[]")))
			continue
		case group != "client":
			continue
		}
		name, value, _ := strings.Cut(line, "=")
		name = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '\'' || value[0] == '"') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		opts[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mysqlsource: option_file %q: %w", path, err)
	}
	return opts, nil
}
