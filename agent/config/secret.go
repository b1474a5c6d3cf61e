package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// SecretRef names where a secret lives, never the secret itself:
// "env:NAME" (an environment variable of the agent) or
// "file:/absolute/path" (a file readable by the agent, e.g. a mounted
// Kubernetes Secret). The provider only ever stores the reference; the agent
// resolves it in its own environment.
type SecretRef string

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// errLiteralSecret is deliberately free of the offending value: what the user
// typed may be the secret itself, and it must not reach a log or a plan.
var errLiteralSecret = errors.New(`must be a secret reference, not the secret itself: ` +
	`put the value in an environment variable of the agent and write "env:VARIABLE_NAME", ` +
	`or in a file and write "file:/absolute/path"`)

// Validate reports whether r is a well-formed reference. The error never
// contains r itself.
func (r SecretRef) Validate() error {
	s := string(r)
	switch {
	case s == "":
		return errors.New(`is required: write "env:VARIABLE_NAME" or "file:/absolute/path"`)
	case strings.HasPrefix(s, "env:"):
		name := strings.TrimPrefix(s, "env:")
		if !envNameRE.MatchString(name) {
			return errors.New(`"env:" must be followed by an environment variable name ` +
				`(letters, digits and underscores, not starting with a digit), e.g. "env:INTERCOM_ACCESS_TOKEN"`)
		}
		return nil
	case strings.HasPrefix(s, "file:"):
		p := strings.TrimPrefix(s, "file:")
		if !filepath.IsAbs(p) {
			return errors.New(`"file:" must be followed by an absolute path, e.g. "file:/run/secrets/intercom_token"`)
		}
		if filepath.Clean(p) != p {
			return errors.New(`"file:" path must be clean (no "..", "//" or trailing "/"), e.g. "file:/run/secrets/intercom_token"`)
		}
		return nil
	}
	return errLiteralSecret
}

// Kind is "env" or "file" for a valid reference.
func (r SecretRef) Kind() string {
	k, _, _ := strings.Cut(string(r), ":")
	return k
}

// Resolver reads the values behind secret references. The zero value reads
// the process environment and the file system.
type Resolver struct {
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile defaults to os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Warn, when set, is told about secret files that others can read.
	Warn func(ref SecretRef, msg string)
}

// Resolve returns the secret r points at, with surrounding whitespace (such
// as the trailing newline of a file) removed. Errors name the reference,
// which is not secret, and never the value.
func (res Resolver) Resolve(r SecretRef) (string, error) {
	if err := r.Validate(); err != nil {
		return "", fmt.Errorf("secret reference %s", err)
	}
	kind, name, _ := strings.Cut(string(r), ":")
	var v string
	switch kind {
	case "env":
		lookup := res.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		val, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("secret %s: environment variable %s is not set in the agent's environment", r, name)
		}
		v = val
	case "file":
		read := res.ReadFile
		if read == nil {
			read = os.ReadFile
			if res.Warn != nil {
				if fi, err := os.Stat(name); err == nil && fi.Mode().Perm()&0o077 != 0 {
					res.Warn(r, fmt.Sprintf("secret file %s is readable by group or others (mode %04o); restrict it with chmod 600", name, fi.Mode().Perm()))
				}
			}
		}
		b, err := read(name)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in our message
			}
			return "", fmt.Errorf("secret %s: %w", r, err)
		}
		v = string(b)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("secret %s is empty", r)
	}
	return v, nil
}
