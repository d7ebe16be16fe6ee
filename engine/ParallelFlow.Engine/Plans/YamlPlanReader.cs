using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace ParallelFlow.Engine.Plans;

/// <summary>Reads YAML text into <see cref="PlanNode"/>s, keeping each value's line and column.</summary>
/// <remarks>Plain scalars are typed by the YAML 1.2 core schema (true/false, null, numbers); quoted scalars are
/// strings. Anchors, aliases and several documents in one file are refused rather than half-supported.</remarks>
internal static partial class YamlPlanReader
{
    /// <summary>The deepest nesting of mappings and lists read, the same as for JSON: a plan needs a handful of
    /// levels, and a file of 20,000 nested lists must be an error, not a stack overflow.</summary>
    public const int MaxDepth = 128;

    public static PlanNode Read(string text, string source)
    {
        var scanner = new Scanner(new StringReader(text));
        try
        {
            var parser = new Parser(scanner);
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                throw new PlanValidationException([PlanError.Syntax(source, new SourcePosition(1, 1), "the file is empty")]);
            }

            parser.Consume<DocumentStart>();
            var root = ReadValue(parser, source, 0);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var extra))
            {
                throw new PlanValidationException([PlanError.Syntax(source, At(extra.Start), "a plan file holds one YAML document; found a second one")]);
            }

            return root;
        }
        catch (YamlException ex)
        {
            throw new PlanValidationException([PlanError.Syntax(source, At(ex.Start), "malformed YAML: " + ex.Message)]);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException && ThrownWithin(ex, typeof(Parser).Assembly))
        {
            // YamlDotNet's scanner throws these, rather than a YamlException, on some malformed input (a plain scalar
            // cut short inside a flow mapping, an escape naming half a surrogate pair): still the file's fault.
            throw new PlanValidationException([PlanError.Syntax(source, At(scanner.CurrentPosition), "malformed YAML: the text cannot be read from here on")]);
        }
    }

    private static PlanNode ReadValue(IParser parser, string source, int depth)
    {
        if (depth >= MaxDepth && parser.Current is MappingStart or SequenceStart)
        {
            throw new PlanValidationException([PlanError.Syntax(source, At(parser.Current.Start),
                $"the plan nests lists and mappings more than {MaxDepth} levels deep")]);
        }

        if (parser.TryConsume<MappingStart>(out var mapping))
        {
            RefuseAnchor(mapping.Anchor, mapping.Start, source);
            var obj = new ObjectNode(At(mapping.Start));
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyNode = ReadValue(parser, source, depth + 1);
                if (keyNode is not ScalarNode key)
                {
                    throw new PlanValidationException([PlanError.Syntax(source, keyNode.Position, "a mapping key must be a plain value")]);
                }

                obj.Properties.Add(new PropertyNode(key.Text, key.Position, ReadValue(parser, source, depth + 1)));
            }

            return obj;
        }

        if (parser.TryConsume<SequenceStart>(out var sequence))
        {
            RefuseAnchor(sequence.Anchor, sequence.Start, source);
            var array = new ArrayNode(At(sequence.Start));
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                array.Items.Add(ReadValue(parser, source, depth + 1));
            }

            return array;
        }

        if (parser.TryConsume<Scalar>(out var scalar))
        {
            RefuseAnchor(scalar.Anchor, scalar.Start, source);
            return ToScalar(scalar);
        }

        var current = parser.Current!;
        throw new PlanValidationException([PlanError.Syntax(source, At(current.Start), "anchors and aliases are not supported in plan files")]);
    }

    private static ScalarNode ToScalar(Scalar scalar)
    {
        var position = At(scalar.Start);
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return new ScalarNode(position, ScalarKind.String, scalar.Value);
        }

        var value = scalar.Value;
        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return new ScalarNode(position, ScalarKind.Null, "null");
        }

        if (value is "true" or "True" or "TRUE")
        {
            return new ScalarNode(position, ScalarKind.Boolean, "true");
        }

        if (value is "false" or "False" or "FALSE")
        {
            return new ScalarNode(position, ScalarKind.Boolean, "false");
        }

        if (value.Length > 0 && (char.IsAsciiDigit(value[0]) || value[0] is '-' or '+' or '.')
            && NumberPattern().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            return new ScalarNode(position, ScalarKind.Number, value.TrimStart('+'));
        }

        return new ScalarNode(position, ScalarKind.String, value);
    }

    /// <summary>Whether the exception came out of the given assembly (a YamlDotNet failure), not out of this reader.</summary>
    /// <remarks>Read from the frames' method descriptions, which a trimmed or natively compiled host keeps too (unless
    /// it turns stack traces off): the assembly's display name, full or not, up to its first comma.</remarks>
    private static bool ThrownWithin(Exception exception, System.Reflection.Assembly assembly)
    {
        var name = assembly.GetName().Name ?? string.Empty;
        return new System.Diagnostics.StackTrace(exception, fNeedFileInfo: false).GetFrames().Any(frame =>
            System.Diagnostics.DiagnosticMethodInfo.Create(frame)?.DeclaringAssemblyName is { } declaring &&
            declaring.AsSpan(0, declaring.IndexOf(',') is >= 0 and var comma ? comma : declaring.Length).SequenceEqual(name.AsSpan()));
    }

    private static void RefuseAnchor(AnchorName anchor, Mark start, string source)
    {
        if (!anchor.IsEmpty)
        {
            throw new PlanValidationException([PlanError.Syntax(source, At(start), "anchors and aliases are not supported in plan files")]);
        }
    }

    private static SourcePosition At(Mark mark) => new((int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

    [GeneratedRegex(@"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")]
    private static partial Regex NumberPattern();
}
