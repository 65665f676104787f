"""Saving, renaming, deleting and connecting with a profile form: the flow both editors drive.

A :class:`ProfileEditor` works on a :class:`~explorer.profiles.store.ProfileStore` (the file
and the keyring) for a :class:`~explorer.present.profileform.ProfileForm` and answers with a
:class:`SaveResult`: what to show at the top of the form, the error of each field, and
whether the keyring failed. A front end only renders the result.

* Saving a form opened on a profile under another name renames it: the secrets move to the
  new name and the original is gone (no copy without its password is left behind).
* Without a usable keyring the banner says so in a window's words and offers to use the typed
  secrets for this session only: the profile is then saved without them, and
  :attr:`SaveResult.session_options` holds the options to connect with.

Nothing here opens a socket; the store does the file and keyring work.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from explorer.client.options import ConnectionOptions
from explorer.errors import ExplorerError, SecretStoreError
from explorer.present.profileform import FormErrors, ProfileForm
from explorer.profiles.format import Profile
from explorer.profiles.store import ProfileStore, merge_secrets

__all__ = ["KEYRING_WAY_OUT", "ProfileEditor", "SaveResult", "keyring_banner"]

KEYRING_WAY_OUT = (
    "Use it for this session only, or install and unlock a keyring "
    "(GNOME Keyring, KWallet or KeePassXC with its Secret Service) and save again."
)


def keyring_banner(exc: SecretStoreError) -> str:
    """The top-of-form sentence for a keyring failure, without command-line advice."""
    reason = str(exc).split("): ", 1)[0]
    if "(" in reason and not reason.endswith(")"):
        reason += ")"
    return f"The secrets cannot be kept: {reason}. {KEYRING_WAY_OUT}"


@dataclass(slots=True)
class SaveResult:
    """What a save (or a connect) did, for the form to show.

    Attributes:
        profile: the saved profile (None when nothing was saved).
        message: a short confirmation (shown in the ordinary colour).
        banner: an error for the top of the form (None when all went well).
        errors: the error of each field, by field key.
        keyring_failed: the keyring refused: offer "use this password for this session only".
        session_options: options with the typed secrets, to connect with this session only.
        form: the form to show now (refilled from the saved profile).
    """

    profile: Profile | None = None
    message: str = ""
    banner: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    keyring_failed: bool = False
    session_options: ConnectionOptions | None = None
    form: ProfileForm | None = None

    @property
    def ok(self) -> bool:
        return self.banner is None and not self.errors


class ProfileEditor:
    """The profile flows of both editors, over one store."""

    def __init__(self, store: ProfileStore) -> None:
        self.store = store

    def open(self, name: str) -> ProfileForm:
        return ProfileForm.from_profile(self.store.get(name))

    def save(self, form: ProfileForm, *, session_only: bool = False) -> SaveResult:
        """Save the form: a new profile, an update, or a rename of the one it was opened on.

        With ``session_only`` the typed secrets are not saved: the profile is, and the
        result's ``session_options`` carry them for this session.
        """
        try:
            profile = form.to_profile(with_secrets=not session_only)
        except FormErrors as exc:
            return SaveResult(banner=str(exc), errors=exc.errors)
        store = self.store
        original = form.original
        try:
            if original is not None and original.name != profile.name:
                if profile.name in store:
                    return SaveResult(
                        banner=f"a profile named {profile.name!r} already exists: choose another name",
                        errors={"name": "this name is taken"},
                    )
                renamed = store.rename(original.name, profile.name)
                moved = {k: renamed.secret_refs[k] for k in profile.secret_refs if k in renamed.secret_refs}
                saved = store.update(replace(profile, secret_refs=moved))
                message = f"renamed {original.name!r} to {saved.name!r} and saved it"
            elif original is not None:
                saved = store.update(profile)
                message = f"saved profile {saved.name!r}"
            else:
                if profile.name in store:
                    return SaveResult(
                        banner=f"a profile named {profile.name!r} already exists: open it to change it, "
                        "or choose another name",
                        errors={"name": "this name is taken"},
                    )
                saved = store.add(profile)
                message = f"saved profile {saved.name!r}"
        except SecretStoreError as exc:
            return SaveResult(banner=keyring_banner(exc), keyring_failed=True)
        except ExplorerError as exc:
            return SaveResult(banner=str(exc))
        if saved.secret_refs:
            message += " (secrets in the keyring)"
        result = SaveResult(profile=saved, message=message, form=ProfileForm.from_profile(saved))
        if session_only:
            typed = form.typed_secrets()
            result.session_options = merge_secrets(saved.options, typed)
            if typed:
                result.message += "; the typed secrets are used for this session only"
        return result

    def connect(self, form: ProfileForm, *, session_only: bool = False) -> SaveResult:
        """Save the form, then the options to connect with (secrets from the keyring).

        A keyring that cannot be read stops here with the banner and the offer to use the
        typed secrets for this session only.
        """
        result = self.save(form, session_only=session_only)
        if result.profile is None:
            return result
        if result.session_options is not None:
            return result
        typed = form.typed_secrets()
        try:
            options = self.store.to_options(result.profile, skip=tuple(typed))
        except SecretStoreError as exc:
            return replace(result, banner=keyring_banner(exc), keyring_failed=True)
        except ExplorerError as exc:
            return replace(result, banner=str(exc))
        result.session_options = merge_secrets(options, typed) if typed else options
        return result

    def delete(self, name: str) -> SaveResult:
        try:
            self.store.remove(name)
        except SecretStoreError as exc:
            return SaveResult(banner=keyring_banner(exc), keyring_failed=True)
        except ExplorerError as exc:
            return SaveResult(banner=str(exc))
        return SaveResult(message=f"deleted profile {name!r}", form=ProfileForm.new())
