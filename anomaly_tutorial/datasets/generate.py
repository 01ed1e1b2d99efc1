"""Generate the bundled data where it is missing: what ``anomaly-tutorial make-data`` runs."""

from anomaly_tutorial.datasets import bundled, glyphs, textures
from anomaly_tutorial.errors import AnomalyTutorialError, UsageError, printable, system_error


def make_missing(out=None, force: bool = False) -> None:
    """Generate the texture categories and the glyphs missing from ``out/textures`` and
    ``out/glyphs`` (default: where the loaders look), everything with ``force`` (even then the
    generators replace only the files they wrote). Every step is said on stdout."""
    texture_folder, glyph_folder = textures.default_data_folder(), glyphs.default_glyphs_folder()
    if out is not None:
        texture_folder, glyph_folder = out / "textures", out / "glyphs"
    # The loaders' own tests: a category with its training images, the glyphs with a manifest.
    names = textures.TEXTURE_CATEGORIES
    categories = [
        name for name in names if force or not (texture_folder / name / "train" / "good").is_dir()
    ]
    make_glyphs = force or not (glyph_folder / bundled.MANIFEST).is_file()
    kept = [name for name in names if name not in categories]
    if kept:
        print(f"Kept {', '.join(kept)} in {printable(texture_folder)} (--force regenerates).")
    if not make_glyphs:
        print(f"Kept the glyphs in {printable(glyph_folder)} (--force regenerates).")
    if out is None and not bundled.in_checkout():
        print(
            f"An installed package: the user cache is where missing data is generated. The "
            f"notebooks read the data installed with the package ({printable(bundled.DATA_DIR)}) "
            "first."
        )
    if not categories and not make_glyphs:
        print("Nothing is missing.")
        return
    try:  # both checked before either is written: a refusal changes nothing
        if categories:
            textures.check_output(texture_folder, categories, force=force)
        if make_glyphs:
            glyphs.check_output(glyph_folder, force=force)
    except FileExistsError as error:  # the generators' refusal to replace files
        raise UsageError(str(error)) from None
    manifests = texture_folder / bundled.MANIFEST, glyph_folder / bundled.MANIFEST
    before = [bundled.previous_files(manifest) for manifest in manifests]
    written = ""
    if categories:
        print(f"Generating {', '.join(categories)} into {printable(texture_folder)} ...")
        after = textures.generate_textures(texture_folder, categories=categories, force=force)
        changed = bundled.changes(before[0], after["files"])
        print(f"Wrote the texture data to {printable(texture_folder)}: {changed}.")
        written = f" The texture data in {texture_folder} was written ({changed})."
    if make_glyphs:
        print(f"Generating the glyphs into {printable(glyph_folder)} ...")
        try:
            after = glyphs.generate_glyphs(glyph_folder, force=force)["files"]
        except (AnomalyTutorialError, OSError) as error:
            what = str(error) if isinstance(error, AnomalyTutorialError) else system_error(error)
            raise UsageError(f"{what} The glyph data was not changed.{written}") from error
        changed = bundled.changes(before[1], after)
        print(f"Wrote the glyph data to {printable(glyph_folder)}: {changed}.")


__all__ = ["make_missing"]
