namespace MmCluster.Shared.Manifest.Import;

/// <summary>Why <see cref="LlavaJsonImporter"/> left an entry of a LLaVA JSON file out of the manifest.</summary>
public enum LlavaImportSkipReason
{
    /// <summary>The entry is not a JSON object.</summary>
    NotAnObject,

    /// <summary>No <c>id</c>, or an <c>id</c> that is not a string or a number, or an empty one.</summary>
    MissingId,

    /// <summary>An earlier entry that was imported has the same <c>id</c> (keys are unique; the first is kept).</summary>
    DuplicateId,

    /// <summary>No <c>image</c> (LLaVA's text-only entries, e.g. ShareGPT's): the manifest pairs every row with an image.</summary>
    NoImage,

    /// <summary>The <c>conversations</c> are missing or not alternating human/gpt turns (<see cref="Conversation.Parse"/>'s error).</summary>
    MalformedConversation,

    /// <summary>The image path leads outside the images folder (<c>..</c>, an absolute path); never opened.</summary>
    ImageOutsideFolder,

    /// <summary>No file at the image path.</summary>
    ImageFileMissing,

    /// <summary>The file exists but cannot be read (permissions, I/O error).</summary>
    ImageFileUnreadable,

    /// <summary>The file is larger than <see cref="ManifestReadLimits.MaxImageBytes"/> (a run's reader would skip it).</summary>
    ImageTooLarge,

    /// <summary>The bytes are not an image a run accepts (<see cref="ImageCheck"/>: not decodable, damaged, over the pixel budget).</summary>
    ImageUndecodable,
}
