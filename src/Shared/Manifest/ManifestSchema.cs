using Parquet.Schema;

namespace MmCluster.Shared.Manifest;

/// <summary>
/// The manifest's Parquet schema: <c>key</c> (string), <c>caption</c> (string), <c>image</c> (binary) or <c>image_path</c>
/// (string), optional <c>label</c> (int32), <c>split</c> (string) and <c>conversation</c> (string: a <see cref="Manifest.Conversation"/>'s
/// JSON). Plain Parquet types that pyarrow and Spark read as is.
/// A file whose rows all share one split says so in its key-value metadata (<see cref="SplitMetadataKey"/>), so planning
/// by split needs no data read.
/// </summary>
public sealed class ManifestSchema
{
    public const string Key = "key";
    public const string Caption = "caption";
    public const string Image = "image";
    public const string ImagePath = "image_path";
    public const string Label = "label";
    public const string Split = "split";
    public const string Conversation = "conversation";

    /// <summary>Footer key-value metadata naming the split shared by every row of the file.</summary>
    public const string SplitMetadataKey = "mmcluster.split";

    public ManifestSchema(ManifestImageStorage storage, bool hasLabel, bool hasSplit, bool hasConversation = false)
    {
        Storage = storage;
        HasLabel = hasLabel;
        HasSplit = hasSplit;
        HasConversation = hasConversation;
        KeyField = new DataField<string>(Key);
        CaptionField = new DataField<string>(Caption);
        ImageField = new DataField<byte[]>(Image);
        ImagePathField = new DataField<string>(ImagePath);
        LabelField = new DataField<int?>(Label);
        SplitField = new DataField<string>(Split);
        ConversationField = new DataField<string>(Conversation);
        var fields = new List<Field> { KeyField, CaptionField, storage == ManifestImageStorage.Embedded ? ImageField : ImagePathField };
        if (hasLabel)
        {
            fields.Add(LabelField);
        }
        if (hasSplit)
        {
            fields.Add(SplitField);
        }
        if (hasConversation)
        {
            fields.Add(ConversationField);
        }
        Parquet = new ParquetSchema(fields);
    }

    public ManifestImageStorage Storage { get; }

    public bool HasLabel { get; }

    public bool HasSplit { get; }

    /// <summary>Whether files carry the optional <c>conversation</c> column (null on rows without instructions).</summary>
    public bool HasConversation { get; }

    public DataField KeyField { get; }

    public DataField CaptionField { get; }

    public DataField ImageField { get; }

    public DataField ImagePathField { get; }

    public DataField LabelField { get; }

    public DataField SplitField { get; }

    public DataField ConversationField { get; }

    /// <summary>The schema handed to <c>ParquetWriter.CreateAsync</c>.</summary>
    public ParquetSchema Parquet { get; }
}
