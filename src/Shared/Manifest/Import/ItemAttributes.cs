namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// What a class is, for yes-no questions whose answer follows from the label alone (<see cref="FashionMnistInstructions.Attributes"/>).
/// A dress counts as neither upper-body wear nor legwear: it is a whole-body garment, and no question asks about legs.
/// </summary>
/// <param name="ClassName">The class name the captions use.</param>
/// <param name="Footwear">Worn on the feet (sandal, sneaker, ankle boot).</param>
/// <param name="UpperBody">Worn on the upper body only (t-shirt, pullover, coat, shirt).</param>
/// <param name="Bag">Carried, not worn (bag).</param>
public sealed record ItemAttributes(string ClassName, bool Footwear, bool UpperBody, bool Bag)
{
    public const string FootwearName = "footwear";
    public const string UpperBodyName = "upper-body";
    public const string BagName = "bag";
    public const string WearableName = "wearable";

    /// <summary>Worn at all: everything but a bag.</summary>
    public bool Wearable => !Bag;

    /// <summary>The value of the attribute named <paramref name="attribute"/> (<see cref="FootwearName"/>, ...).</summary>
    public bool Has(string attribute) => attribute switch
    {
        FootwearName => Footwear,
        UpperBodyName => UpperBody,
        BagName => Bag,
        WearableName => Wearable,
        _ => throw new ArgumentException($"unknown attribute '{attribute}'", nameof(attribute)),
    };
}
