"""The Dropbox target, through the official SDK (refresh-token flow or a bare access token).

Errors become one sentence with an exit code; secrets never appear in them (they are scrubbed
from any text that came back from the SDK or the server).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

import requests

from bookedbiz.backup.naming import normalize_file, normalize_folder
from bookedbiz.backup.targets import RemoteEntry
from bookedbiz.backup.upload import (
    RetryPolicy,
    is_certificate_error,
    is_transient,
    upload_file,
    with_retry,
)
from bookedbiz.config import Settings
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError, VerificationError

log = logging.getLogger(__name__)
T = TypeVar("T")
MIB = 1024 * 1024


def dropbox_configured(settings: Settings) -> bool:
    refresh = settings.dropbox_refresh_token and settings.dropbox_app_key
    return bool(refresh or settings.dropbox_access_token)


def _secrets(settings: Settings) -> list[str]:
    values = (settings.dropbox_app_secret, settings.dropbox_refresh_token,
              settings.dropbox_access_token)
    return [v for v in values if v and len(v) >= 4]


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


class DropboxTarget:
    """Files in the Dropbox app folder; paths like '/database.db'."""

    kind = "dropbox"
    key = "dropbox"

    def __init__(self, settings: Settings):
        if not dropbox_configured(settings):
            raise ConfigError(
                "Dropbox is not configured: set DROPBOX_APP_KEY, DROPBOX_APP_SECRET and "
                "DROPBOX_REFRESH_TOKEN (or DROPBOX_ACCESS_TOKEN)."
            )
        self.settings = settings
        self.policy = RetryPolicy(settings.backup_retries, settings.backup_retry_seconds)
        self.chunk_bytes = settings.backup_chunk_mib * MIB
        self._secrets = _secrets(settings)
        self._client: Any = None
        self.uses_refresh_token = bool(settings.dropbox_refresh_token and settings.dropbox_app_key)

    def describe(self) -> str:
        return "Dropbox app folder"

    @property
    def client(self) -> Any:
        if self._client is None:
            import dropbox

            s = self.settings
            common: dict[str, Any] = {
                "timeout": s.dropbox_timeout_seconds,
                "max_retries_on_error": 0,  # we retry ourselves, per chunk, with our back-off
                "max_retries_on_rate_limit": 5,
                "user_agent": "BookedBiz-backup",
            }
            if s.dropbox_ca_certs:
                session = dropbox.create_session(ca_certs=str(s.dropbox_ca_certs))
                session.__class__ = _PinnedSession
                common["session"] = session
            if self.uses_refresh_token:
                self._client = dropbox.Dropbox(
                    oauth2_refresh_token=s.dropbox_refresh_token, app_key=s.dropbox_app_key,
                    app_secret=s.dropbox_app_secret, **common)
            else:
                self._client = dropbox.Dropbox(oauth2_access_token=s.dropbox_access_token,
                                               **common)
        return self._client

    @contextmanager
    def _errors(self, what: str, path: str | None = None) -> Iterator[None]:
        """Map SDK/network failures to one clear sentence, with secrets scrubbed."""
        from dropbox import exceptions as dbx_exc

        try:
            yield
        except BookedBizError as exc:
            raise type(exc)(redact(str(exc), self._secrets), exit_code=exc.exit_code) from None
        except dbx_exc.AuthError as exc:
            hint = ("" if self.uses_refresh_token else
                    " Access tokens expire after 4 hours; configure DROPBOX_REFRESH_TOKEN.")
            raise ConfigError(
                f"Dropbox rejected the credentials while trying to {what} "
                f"({_tag(exc.error)}).{hint}"
            ) from None
        except dbx_exc.ApiError as exc:
            summary = redact(str(getattr(exc, "error", "")), self._secrets)
            if "not_found" in _tag(exc.error) or "not_found" in repr(exc.error):
                raise NotFoundError(f"{path or 'The path'} does not exist in Dropbox.") from None
            raise BookedBizError(
                f"Dropbox refused to {what}: {_tag(exc.error) or summary}."
            ) from None
        except dbx_exc.BadInputError as exc:
            raise BookedBizError(
                f"Dropbox rejected the request to {what}: "
                f"{redact(str(exc.message), self._secrets)[:200]}."
            ) from None
        except requests.exceptions.SSLError as exc:
            if not is_certificate_error(exc):
                raise BookedBizError(
                    f"Could not {what}: the connection to Dropbox failed (SSLError) after "
                    f"{self.policy.attempts} retries."
                ) from None
            raise BookedBizError(
                f"Could not {what}: the TLS certificate of the Dropbox server could not be "
                "verified (SSLError); check DROPBOX_CA_CERTS or the system CA bundle."
            ) from None
        except Exception as exc:
            if is_transient(exc) or isinstance(exc, dbx_exc.DropboxException):
                raise BookedBizError(
                    f"Could not {what}: Dropbox did not answer properly "
                    f"({type(exc).__name__}) after {self.policy.attempts} retries."
                ) from None
            raise

    def _call(self, what: str, fn: Callable[[], T], path: str | None = None) -> T:
        with self._errors(what, path):
            return with_retry(fn, self.policy, what)

    def check(self) -> str:
        account = self._call("connect", self.client.users_get_current_account)
        return f"Dropbox account {account.name.display_name}"

    def metadata(self, path: str) -> RemoteEntry | None:
        from dropbox import exceptions as dbx_exc

        path = normalize_file(path)
        try:
            with self._errors("read metadata", path):
                meta = with_retry(lambda: self.client.files_get_metadata(path), self.policy,
                                  "metadata")
        except NotFoundError:
            return None
        except dbx_exc.ApiError:  # pragma: no cover - mapped above
            raise
        return _entry(meta)

    def list_folder(self, folder: str) -> list[RemoteEntry]:
        folder = normalize_folder(folder)
        with self._errors("list the folder", folder or "/"):
            result = with_retry(lambda: self.client.files_list_folder(folder), self.policy,
                                "list folder")
            entries = [_entry(m) for m in result.entries]
            while result.has_more:
                result = with_retry(
                    lambda c=result.cursor: self.client.files_list_folder_continue(c),
                    self.policy, "list folder")
                entries.extend(_entry(m) for m in result.entries)
        return sorted(entries, key=lambda e: e.name)

    def upload(self, local: Path, path: str, *, local_hash: str, overwrite: bool,
               before_commit: Callable[[], object] | None = None,
               blocks: list[bytes] | None = None) -> RemoteEntry:
        path = normalize_file(path)
        with self._errors("upload", path):
            try:
                meta = upload_file(self.client, local, path, chunk_bytes=self.chunk_bytes,
                                   policy=self.policy, overwrite=overwrite,
                                   before_commit=before_commit,
                                   blocks=blocks)
            except BookedBizError:
                raise
            except Exception:
                # A commit whose answer was lost: accept it only if the server holds our bytes.
                current = self.metadata(path)
                if current is None or current.content_hash != local_hash:
                    raise
                return current
        entry = _entry(meta)
        if entry.content_hash != local_hash:
            raise VerificationError(
                f"Dropbox stored {path} with content hash {entry.content_hash}, expected "
                f"{local_hash}; the upload is not trustworthy."
            )
        return entry

    def download(self, path: str, dest: Path) -> RemoteEntry:
        path = normalize_file(path)
        with self._errors("download", path):
            meta = with_retry(lambda: self.client.files_download_to_file(str(dest), path),
                              self.policy, "download")
        return _entry(meta)

    def copy(self, src: str, dst: str) -> RemoteEntry:
        src, dst = normalize_file(src), normalize_file(dst)
        with self._errors("copy", src):
            result = with_retry(lambda: self.client.files_copy_v2(src, dst), self.policy, "copy")
        return _entry(result.metadata)

    def delete(self, path: str) -> None:
        path = normalize_file(path)
        self._call("delete", lambda: self.client.files_delete_v2(path), path)

    def read_bytes(self, path: str) -> bytes | None:
        path = normalize_file(path)
        try:
            with self._errors("download", path):
                _, response = with_retry(lambda: self.client.files_download(path), self.policy,
                                         "download")
                with response:
                    return response.content
        except NotFoundError:
            return None

    def write_bytes(self, path: str, data: bytes) -> None:
        from dropbox import files

        path = normalize_file(path)
        self._call("upload", lambda: self.client.files_upload(
            data, path, mode=files.WriteMode.overwrite, mute=True), path)


class _PinnedSession(requests.Session):
    """A session whose CA bundle (DROPBOX_CA_CERTS) is not overridden by REQUESTS_CA_BUNDLE.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the session's ``verify`` for
    every request, which would silently ignore the configured bundle.
    """

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201, E501
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["verify"] = self.verify
        return merged


def _tag(error: Any) -> str:
    """A short readable tag path of a Stone union, e.g. 'path/not_found'."""
    parts = []
    while error is not None and hasattr(error, "_tag"):
        parts.append(str(error._tag))
        error = getattr(error, "_value", None)
    return "/".join(parts)


def _entry(meta: Any) -> RemoteEntry:
    from dropbox import files

    path = meta.path_display or meta.path_lower or f"/{meta.name}"
    if isinstance(meta, files.FolderMetadata):
        return RemoteEntry(path, meta.name, is_folder=True)
    modified = meta.server_modified.replace(tzinfo=UTC) if meta.server_modified else None
    return RemoteEntry(path, meta.name, False, int(meta.size), modified, meta.content_hash,
                       meta.rev)
