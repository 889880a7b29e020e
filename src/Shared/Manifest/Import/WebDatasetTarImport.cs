using System.Formats.Tar;
using System.Text;

namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Imports one webdataset tar into one Parquet file, streaming: members are read in tar order (a sample's members are
/// consecutive, grouped by key: the name up to the first dot of its last path segment, as webdataset splits them), one
/// sample is held at a time, plus the writer's row group. The file is written as <c>NAME.parquet.partial</c> and
/// renamed to <c>NAME.parquet</c> once complete, so a finished name always means a finished file. Every file has the
/// nullable <c>label</c> column: a sample's <c>KEY.cls</c> (webdataset's class id, an integer as text), null without one.
/// </summary>
internal static class WebDatasetTarImport
{
    private static readonly string[] ImageExtensions = ["jpg", "jpeg", "png", "webp"];

    /// <summary>The longest <c>.cls</c> member read: a class id is a few digits (with a newline); a longer member is not one.</summary>
    private const int MaxClassBytes = 32;

    public static async Task<WebDatasetTarResult> ImportAsync(
        string tar, string outDir, string fileName, WebDatasetImportOptions options, WebDatasetImportProgress progress,
        Action<WebDatasetSkip> onSkip, CancellationToken cancellationToken)
    {
        var skipped = new Dictionary<string, long>(StringComparer.Ordinal);
        void Skip(string member, WebDatasetSkipReason reason, string detail)
        {
            skipped[reason.ToString()] = skipped.GetValueOrDefault(reason.ToString()) + 1;
            onSkip(new WebDatasetSkip(tar, member, reason, detail));
        }

        var limits = options.Limits.Validated();
        var partial = fileName + WebDatasetImporter.PartialSuffix;
        var writerOptions = new ParquetManifestWriterOptions { RowsPerGroup = options.RowsPerGroup, FileName = partial, HasSplit = options.Split is not null, HasLabel = true };
        var imageBytes = 0L;
        var rows = 0L;
        var labelled = 0L;
        await using (var writer = new ParquetManifestWriter(outDir, writerOptions))
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            async Task WriteAsync(Sample? sample)
            {
                if (sample?.ToRow(keys, limits, options.Split, Skip) is { } row)
                {
                    await writer.AddAsync(row, cancellationToken);
                    imageBytes += row.Image.Length;
                    labelled += row.Label is null ? 0 : 1;
                    progress.Wrote(row.Label is not null);
                }
            }

            await using var file = new FileStream(tar, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            await using var stream = new ForwardOnlyStream(file);
            await using var reader = new TarReader(stream);
            Sample? sample = null;
            var reported = 0L;
            var member = "(the first header)";
            var where = "in the first header";
            var inMember = false;
            try
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
                {
                    progress.Read(stream.Position - reported);
                    reported = stream.Position;
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    {
                        continue;
                    }
                    member = entry.Name;
                    where = $"inside this member: its data starts at byte {stream.Position:N0} and declares {entry.Length:N0} bytes";
                    var (key, extension) = KeyOf(entry.Name);
                    if (key is null)
                    {
                        Skip(entry.Name, WebDatasetSkipReason.UnknownMember, "no extension to tell what it holds");
                        continue;
                    }
                    if (sample?.Key != key)
                    {
                        await WriteAsync(sample);
                        sample = new Sample(key);
                    }
                    inMember = true;
                    await sample.AddAsync(entry, extension, limits, Skip, cancellationToken);
                    inMember = false;
                    member = $"(the header after {entry.Name})";
                    where = $"in a header after byte {stream.Position:N0}";
                }
            }
            catch (Exception e) when (e is EndOfStreamException or InvalidDataException or FormatException or ArgumentException)
            {
                // Damage inside a member drops its sample (the member may be cut short); damage in a header after a
                // member keeps the sample read so far (its members are whole). The rows before are kept either way.
                Skip(member, WebDatasetSkipReason.TruncatedTar, $"the tar ({stream.Length:N0} bytes) breaks off or is damaged {where} ({e.Message}); the rows before are kept, the rest is not read");
                sample = inMember ? null : sample;
            }
            await WriteAsync(sample);
            progress.Read(stream.Length - reported);
            foreach (var (k, v) in WebDatasetImporter.FooterMetadata(tar, imageBytes, skipped))
            {
                writer.SetFooterMetadata(k, v);
            }
            await writer.CompleteAsync(cancellationToken);
            rows = writer.RowsWritten;
        }
        var finished = Path.Combine(outDir, fileName);
        File.Move(Path.Combine(outDir, partial), finished, overwrite: true);
        return new WebDatasetTarResult(tar, finished, rows, imageBytes, SkipCounts.From(skipped), Kept: false) { LabelledRows = labelled };
    }

    /// <summary>webdataset's split: <c>dir/abc.seg.png</c> is key <c>dir/abc</c>, extension <c>seg.png</c>; a name without an extension has no key.</summary>
    internal static (string? Key, string Extension) KeyOf(string name)
    {
        name = name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;
        var slash = name.LastIndexOf('/');
        var dot = name.IndexOf('.', slash + 1);
        return dot <= slash + 1 || dot == name.Length - 1 ? (null, "") : (name[..dot], name[(dot + 1)..].ToLowerInvariant());
    }

    /// <summary>The members of one key, as they are read: at most one image and one caption are held.</summary>
    private sealed class Sample(string key)
    {
        private string? _imageMember;
        private byte[]? _image;
        private string? _imageRefusal;
        private string? _captionMember;
        private string? _caption;
        private string? _classMember;
        private int? _label;
        private readonly List<string> _members = [];

        public string Key { get; } = key;

        public async Task AddAsync(
            TarEntry entry, string extension, ManifestReadLimits limits, Action<string, WebDatasetSkipReason, string> skip, CancellationToken cancellationToken)
        {
            _members.Add(entry.Name);
            if (ImageExtensions.Contains(extension))
            {
                if (_imageMember is not null)
                {
                    skip(entry.Name, WebDatasetSkipReason.DuplicateKey, $"a second image for key '{Key}' (the first, {_imageMember}, is kept)");
                    return;
                }
                _imageMember = entry.Name;
                if (entry.Length > limits.MaxImageBytes)
                {
                    _imageRefusal = $"{entry.Length:N0} bytes, over the limit of {limits.MaxImageBytes:N0}";
                    return;
                }
                _image = await ReadAsync(entry, entry.Length, cancellationToken);
            }
            else if (extension == "txt")
            {
                if (_captionMember is not null)
                {
                    skip(entry.Name, WebDatasetSkipReason.DuplicateKey, $"a second caption for key '{Key}' (the first, {_captionMember}, is kept)");
                    return;
                }
                _captionMember = entry.Name;
                // UTF-8 takes at most 4 bytes per UTF-16 char: this many bytes hold every character a run keeps.
                var bytes = await ReadAsync(entry, Math.Min(entry.Length, 4L * limits.MaxCaptionChars + 4), cancellationToken);
                _caption = ManifestReadLimits.Truncate(Encoding.UTF8.GetString(bytes), limits.MaxCaptionChars);
            }
            else if (extension == "cls")
            {
                if (_classMember is not null)
                {
                    skip(entry.Name, WebDatasetSkipReason.DuplicateKey, $"a second class for key '{Key}' (the first, {_classMember}, is kept)");
                    return;
                }
                _classMember = entry.Name;
                var bytes = await ReadAsync(entry, Math.Min(entry.Length, MaxClassBytes + 1), cancellationToken);
                _label = ParseClass(bytes, out var problem);
                if (problem is not null)
                {
                    // The pair is still imported, without a label: a bad class id must not cost the image and its caption.
                    skip(entry.Name, WebDatasetSkipReason.BadLabel, $"{problem}; the pair is imported without a label");
                }
            }
            else if (extension != "json")
            {
                skip(entry.Name, WebDatasetSkipReason.UnknownMember, $"extension '.{extension}' is not an image (.jpg, .jpeg, .png, .webp), a caption (.txt), a class (.cls) or metadata (.json)");
            }
        }

        /// <summary>The row, or null after reporting why there is none.</summary>
        public ManifestRow? ToRow(HashSet<string> keys, ManifestReadLimits limits, string? split, Action<string, WebDatasetSkipReason, string> skip)
        {
            var first = _members[0];
            if (!keys.Add(Key))
            {
                skip(first, WebDatasetSkipReason.DuplicateKey, $"an earlier sample of this tar has key '{Key}' (it is kept)");
                return null;
            }
            if (_imageMember is null)
            {
                skip(_captionMember ?? first, WebDatasetSkipReason.MissingImage, $"key '{Key}' has no image ({string.Join(", ", _members)})");
                return null;
            }
            if (_imageRefusal is not null)
            {
                skip(_imageMember, WebDatasetSkipReason.ImageTooLarge, _imageRefusal);
                return null;
            }
            if (string.IsNullOrWhiteSpace(_caption))
            {
                skip(_imageMember, WebDatasetSkipReason.MissingCaption, _captionMember is null ? $"no {Key}.txt" : $"{_captionMember} is blank");
                return null;
            }
            if (ImageCheck.Check(_image, limits.MaxImagePixels, out var detail) is not null)
            {
                skip(_imageMember, WebDatasetSkipReason.ImageUndecodable, detail);
                return null;
            }
            return new ManifestRow(Key, _caption, _image!, _label, split);
        }

        /// <summary>webdataset's class id: a non-negative integer as text (surrounding whitespace allowed); null with the problem otherwise.</summary>
        internal static int? ParseClass(byte[] bytes, out string? problem)
        {
            problem = null;
            if (bytes.Length > MaxClassBytes)
            {
                problem = $"longer than {MaxClassBytes} bytes: not a class id (a non-negative integer)";
                return null;
            }
            var text = Encoding.UTF8.GetString(bytes).Trim();
            if (text.Length > 0 && text.All(char.IsAsciiDigit)
                && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var label))
            {
                return label;
            }
            problem = text.Length == 0 ? "empty: not a class id (a non-negative integer)"
                : $"'{(text.Length > MaxClassBytes ? text[..MaxClassBytes] : text)}' is not a class id (a non-negative integer up to {int.MaxValue:N0})";
            return null;
        }

        private static async Task<byte[]> ReadAsync(TarEntry entry, long length, CancellationToken cancellationToken)
        {
            var bytes = new byte[length];
            if (length > 0)
            {
                await entry.DataStream!.ReadExactlyAsync(bytes, cancellationToken);
            }
            return bytes;
        }
    }
}
