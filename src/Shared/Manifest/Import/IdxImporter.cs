namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Turns an IDX image/label pair into manifest files: each image as a PNG, a caption from its class name through a
/// training template (<see cref="CaptionTemplates"/>), the label and the split, and with
/// <see cref="IdxImportOptions.Instructions"/> a conversation about the image (<see cref="FashionMnistInstructions"/>).
/// One split per file, so planning by split needs footers only.
/// </summary>
public static class IdxImporter
{
    /// <summary>Writes <c>{split}-NNNNN.parquet</c> files into the output folder (replacing that split's old files); returns the rows written.</summary>
    public static async Task<long> ImportAsync(IdxImportOptions options, CancellationToken cancellationToken = default)
    {
        var images = IdxReader.ReadImages(options.ImagesPath);
        var labels = IdxReader.ReadLabels(options.LabelsPath);
        if (labels.Length != images.Count)
        {
            throw new ManifestException($"{labels.Length} labels for {images.Count} images in {options.ImagesPath}", options.LabelsPath);
        }
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= options.ClassNames.Count)
            {
                throw new ManifestException($"label {labels[i]} has no class name (there are {options.ClassNames.Count})", options.LabelsPath, row: i);
            }
        }
        if (options.Instructions && !options.ClassNames.SequenceEqual(FashionMnistInstructions.Attributes.Select(a => a.ClassName)))
        {
            throw new ManifestException(
                $"instructions need the Fashion-MNIST classes ({string.Join(", ", ClassNames.FashionMnist)}), whose attributes the answers come from", options.LabelsPath);
        }
        ParquetManifestWriter.ReplaceFiles(options.OutDir, options.Split);
        var writerOptions = new ParquetManifestWriterOptions
        {
            RowsPerGroup = options.RowsPerGroup,
            RowsPerFile = options.RowsPerFile,
            FilePrefix = options.Split,
            Storage = ManifestImageStorage.Embedded,
            HasLabel = true,
            HasSplit = true,
            HasConversation = options.Instructions,
        };
        await using var writer = new ParquetManifestWriter(options.OutDir, writerOptions);
        var rowsPerBatch = options.RowsPerGroup;
        for (var start = 0; start < images.Count; start += rowsPerBatch)
        {
            var count = Math.Min(rowsPerBatch, images.Count - start);
            var pngs = new byte[count][];
            Parallel.For(0, count, i => pngs[i] = GrayPng.Encode(images.Image(start + i), images.Columns, images.Rows));
            for (var i = 0; i < count; i++)
            {
                var row = start + i;
                var label = labels[row];
                var caption = CaptionTemplates.ForRow(row, options.ClassNames[label], options.CaptionSeed);
                var key = $"{options.KeyPrefix}-{options.Split}-{row:D6}";
                var conversation = options.Instructions ? FashionMnistInstructions.ForRow(row, label, heldOut: options.Split != "train", options.CaptionSeed) : null;
                await writer.AddAsync(new ManifestRow(key, caption, pngs[i], label, options.Split) { Conversation = conversation }, cancellationToken);
            }
        }
        await writer.CompleteAsync(cancellationToken);
        return writer.RowsWritten;
    }
}
