package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// executable is the mode of the one binary in each archive.
const executable = 0o755

// writeZip writes an archive at path holding the file src under name. The
// Terraform CLI keeps the mode stored in the zip, so the provider stays
// executable once installed.
func writeZip(path, name, src string, mtime time.Time) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer closeInto(f, &err)

	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime}
	h.SetMode(executable)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		return err
	}
	return zw.Close()
}

// writeTarGz writes a gzip-compressed tar archive at path holding the file
// src under name, owned by root, with no directory around it.
func writeTarGz(path, name, src string, mtime time.Time) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer closeInto(f, &err)

	gz, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	gz.ModTime = mtime // the gzip header, too, for reproducible archives
	tw := tar.NewWriter(gz)
	h := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     fi.Size(),
		Mode:     executable,
		ModTime:  mtime,
		Uname:    "root",
		Gname:    "root",
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if _, err := io.Copy(tw, in); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// writeSums writes the SHA-256 of files (names in dir) to dir/name in the
// format of sha256sum, so `sha256sum -c` verifies them.
func writeSums(dir, name string, files []string) error {
	files = slices.Sorted(slices.Values(files))
	var b strings.Builder
	for _, file := range files {
		sum, err := sha256File(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%x  %s\n", sum, file)
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
}

func sha256File(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// closeInto closes f and reports its error through err unless err is set:
// a failed close of a written file is a failed write.
func closeInto(f *os.File, err *error) {
	if cerr := f.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}
