namespace MmCluster.Shared.Manifest.Import;

/// <summary>Class names for captions: built-in sets (<c>fashion-mnist</c>, <c>mnist</c>) or a file with one name per line.</summary>
public static class ClassNames
{
    public static IReadOnlyList<string> FashionMnist { get; } =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"];

    public static IReadOnlyList<string> Mnist { get; } =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

    /// <summary><c>fashion-mnist</c>, <c>mnist</c>, or the path of a text file with one class name per line.</summary>
    public static IReadOnlyList<string> Resolve(string spec)
    {
        switch (spec.ToLowerInvariant())
        {
            case "fashion-mnist":
                return FashionMnist;
            case "mnist":
                return Mnist;
        }
        if (!File.Exists(spec))
        {
            throw new ManifestException("class names: expected 'fashion-mnist', 'mnist' or a file with one name per line; no such file", spec);
        }
        var names = File.ReadAllLines(spec).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (names.Count == 0)
        {
            throw new ManifestException("class names file has no names", spec);
        }
        return names;
    }
}
