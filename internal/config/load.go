package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// configFlag is the name of the flag that names the YAML configuration file.
const configFlag = "config"

// RegisterFlags adds --config FILE and one flag per setting to fs. The flags'
// defaults are Default()'s values, shown in --help; only flags given on the
// command line override the file and the environment.
func RegisterFlags(fs *pflag.FlagSet) {
	fs.String(configFlag, "", "read settings from the YAML configuration `FILE`")
	def := Default()
	for _, s := range settings {
		switch d := s.ptr(&def).(type) {
		case *string:
			fs.String(s.flag, *d, s.desc)
		case *time.Duration:
			fs.Duration(s.flag, *d, s.desc)
		case *[]string:
			fs.StringSlice(s.flag, *d, s.desc)
		case *int:
			fs.Int(s.flag, *d, s.desc)
		case *bool:
			fs.Bool(s.flag, *d, s.desc)
		case *[]VaultConfig:
			fs.StringSlice(s.flag, nil, s.desc)
		}
	}
}

// Load builds the configuration: Default(), then the file named by
// --config (if fs has it and it is set), then the KEYHAVEN_* variables of
// environ ("NAME=value" entries, as os.Environ returns), then the flags of fs
// that were set. fs may be nil. It fills derived values (an absolute
// dataDir, storage.path, a lower-case dnsSuffix) and records warnings, but
// does not validate: call Validate.
func Load(fs *pflag.FlagSet, environ []string) (Config, error) {
	c := Default()
	if err := c.loadFile(configFile(fs)); err != nil {
		return Config{}, err
	}
	if err := errors.Join(c.loadEnv(environ), c.loadFlags(fs)); err != nil {
		return Config{}, err
	}
	if err := c.derive(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func configFile(fs *pflag.FlagSet) string {
	if fs == nil {
		return ""
	}
	if f := fs.Lookup(configFlag); f != nil {
		return f.Value.String()
	}
	return ""
}

// loadFile decodes the YAML file at path (if any) over c, rejecting unknown
// keys.
func (c *Config) loadFile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("configuration file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("configuration file %s: %w", path, hideValues(err))
	}
	c.warnSecrets("is written in the configuration file, which is easily shared or committed")
	return nil
}

// yamlValue matches the `value` that yaml.v3 quotes in its type errors.
var yamlValue = regexp.MustCompile("`[^`]*`")

// hideValues removes the quoted values from yaml.v3's type errors: a value
// in the wrong place (seal: hunter2) could be a secret. The line number
// remains.
func hideValues(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for i, e := range te.Errors {
			te.Errors[i] = yamlValue.ReplaceAllString(e, "(value not shown)")
		}
	}
	return err
}

// loadEnv applies the non-empty KEYHAVEN_* variables of environ.
func (c *Config) loadEnv(environ []string) error {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	var errs []error
	for _, s := range settings {
		if v := env[s.env]; v != "" {
			errs = append(errs, s.set(c, v))
		}
	}
	return errors.Join(errs...)
}

// loadFlags applies the flags of fs that were set on the command line.
func (c *Config) loadFlags(fs *pflag.FlagSet) error {
	if fs == nil {
		return nil
	}
	var errs []error
	for _, s := range settings {
		f := fs.Lookup(s.flag)
		if f == nil || !f.Changed {
			continue
		}
		errs = append(errs, s.set(c, flagText(f)))
		if s.secret {
			c.warn(s, "is given on the command line, which other local users can read")
		}
	}
	return errors.Join(errs...)
}

// flagText returns a flag's value as set would read it from the environment.
func flagText(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return strings.Join(sv.GetSlice(), ",")
	}
	return f.Value.String()
}

// warnSecrets records a warning for each secret setting that has a value.
func (c *Config) warnSecrets(where string) {
	for _, s := range settings {
		if p, ok := s.ptr(c).(*string); ok && s.secret && *p != "" {
			c.warn(s, where)
		}
	}
}

// warn records a warning about secret setting s; it never includes the value.
func (c *Config) warn(s setting, where string) {
	c.Warnings = append(c.Warnings, fmt.Sprintf(
		"%s %s; prefer the environment variable %s or a file readable only by the server",
		s.path, where, s.env))
}

// derive fills the values that depend on others.
func (c *Config) derive() error {
	c.DNSSuffix = strings.ToLower(c.DNSSuffix)
	if c.DataDir != "" {
		abs, err := filepath.Abs(c.DataDir)
		if err != nil {
			return fmt.Errorf("%s: %w", lookup("dataDir").label(), err)
		}
		c.DataDir = abs
	}
	if c.Storage.Path == "" && c.DataDir != "" {
		c.Storage.Path = filepath.Join(c.DataDir, "keyhaven.db")
	}
	return nil
}
