namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// The question phrasings of the instruction importer (<see cref="FashionMnistInstructions"/>), per kind, in two disjoint
/// sets: training rows use only the training phrasings, evaluation rows only the held-out ones (as
/// <see cref="CaptionTemplates.HeldOut"/> does for captions). Every yes-no attribute has phrasings in both sets.
/// </summary>
public static class InstructionPhrasings
{
    public const string Category = "category";
    public const string YesNo = "yes-no";
    public const string Choice = "choice";

    /// <summary>The yes-no attribute "is this a {class}?", asked about the row's own class or another.</summary>
    public const string IsClass = "is-class";

    public static IReadOnlyList<string> Kinds { get; } = [Category, YesNo, Choice];

    public static IReadOnlyList<QuestionPhrasing> All { get; } =
    [
        new(Category, "What is the item in the image?", HeldOut: false),
        new(Category, "What is shown in this picture?", HeldOut: false),
        new(Category, "What kind of item is this?", HeldOut: false),
        new(Category, "Name the item in the picture.", HeldOut: false),
        new(Category, "What does this image show?", HeldOut: false),
        new(Category, "Which piece of clothing or accessory is pictured here?", HeldOut: true),
        new(Category, "Tell me what this is.", HeldOut: true),

        new(YesNo, "Is this something you wear on your feet?", HeldOut: false, ItemAttributes.FootwearName),
        new(YesNo, "Is this a kind of footwear?", HeldOut: false, ItemAttributes.FootwearName),
        new(YesNo, "Would you put this on your feet?", HeldOut: true, ItemAttributes.FootwearName),
        new(YesNo, "Is this worn on the upper body?", HeldOut: false, ItemAttributes.UpperBodyName),
        new(YesNo, "Is this a top you wear on your torso?", HeldOut: false, ItemAttributes.UpperBodyName),
        new(YesNo, "Does this go on your upper body?", HeldOut: true, ItemAttributes.UpperBodyName),
        new(YesNo, "Is this a bag?", HeldOut: false, ItemAttributes.BagName),
        new(YesNo, "Is this something you carry your things in?", HeldOut: false, ItemAttributes.BagName),
        new(YesNo, "Could you carry your belongings in this?", HeldOut: true, ItemAttributes.BagName),
        new(YesNo, "Is this something you can wear?", HeldOut: false, ItemAttributes.WearableName),
        new(YesNo, "Can you wear this?", HeldOut: false, ItemAttributes.WearableName),
        new(YesNo, "Is this meant to be worn?", HeldOut: true, ItemAttributes.WearableName),
        new(YesNo, "Is this {a}?", HeldOut: false, IsClass),
        new(YesNo, "Does the image show {a}?", HeldOut: false, IsClass),
        new(YesNo, "Is the item in the picture {a}?", HeldOut: true, IsClass),

        new(Choice, "Which category does this belong to: {1}, {2} or {3}?", HeldOut: false),
        new(Choice, "Is this {a1}, {a2} or {a3}?", HeldOut: false),
        new(Choice, "Pick the right category for the image: {1}, {2} or {3}.", HeldOut: true),
    ];

    /// <summary>The phrasings of one kind in one set.</summary>
    public static IReadOnlyList<QuestionPhrasing> For(string kind, bool heldOut) =>
        [.. All.Where(p => p.Kind == kind && p.HeldOut == heldOut)];
}
