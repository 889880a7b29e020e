namespace MmCluster.Worker.Training.Photos;

/// <summary>
/// The part of an image, in that image's pixel coordinates (fractional where a resize put it between pixels), that one
/// output square is resampled from: [<see cref="X0"/>, <see cref="X1"/>) x [<see cref="Y0"/>, <see cref="Y1"/>).
/// </summary>
public readonly record struct SourceBox(double X0, double Y0, double X1, double Y1)
{
    public double Width => X1 - X0;

    public double Height => Y1 - Y0;

    /// <summary>The same box in an image decoded at another size (a JPEG decoded at 1/8, say).</summary>
    public SourceBox Scaled(double sx, double sy) => new(X0 * sx, Y0 * sy, X1 * sx, Y1 * sy);
}
