"""Static files storage: whitenoise's hashed, compressed files, with ES module imports rewritten."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    # Our pages load ES modules that import one another ("./api.js"); rewriting those imports to
    # the hashed names keeps a page from pairing a new module with a stale cached helper.
    support_js_module_import_aggregation = True

    def stored_name(self, name: str) -> str:
        # No manifest yet (`collectstatic` has not run, e.g. `runserver` or a fresh checkout):
        # the plain name, which whitenoise serves from the apps' folders (WHITENOISE_USE_FINDERS).
        if not self.hashed_files:
            return name
        return super().stored_name(name)
