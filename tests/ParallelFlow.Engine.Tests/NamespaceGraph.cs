using Mono.Cecil;

namespace ParallelFlow.Engine.Tests;

/// <summary>Which namespaces of one assembly use which: read from the compiled IL (signatures, fields, locals and every
/// type, method and field a method body names), so a use the compiler needs no <c>using</c> for still counts.</summary>
internal static class NamespaceGraph
{
    /// <summary>For each namespace of the assembly at <paramref name="path"/> that starts with <paramref name="root"/>,
    /// the other such namespaces it uses, each with every use found.</summary>
    public static SortedDictionary<string, SortedDictionary<string, List<string>>> Read(string path, string root)
    {
        using var module = ModuleDefinition.ReadModule(path);
        var graph = new SortedDictionary<string, SortedDictionary<string, List<string>>>(StringComparer.Ordinal);
        foreach (var type in module.GetTypes())
        {
            var from = NamespaceOf(type);
            if (!from.StartsWith(root, StringComparison.Ordinal))
            {
                continue;
            }

            if (!graph.TryGetValue(from, out var edges))
            {
                graph[from] = edges = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
            }

            void Use(TypeReference? used, string where)
            {
                foreach (var to in NamespacesIn(used))
                {
                    if (to != from && to.StartsWith(root, StringComparison.Ordinal))
                    {
                        if (!edges.TryGetValue(to, out var uses))
                        {
                            edges[to] = uses = [];
                        }

                        uses.Add($"{type.FullName} {where}");
                    }
                }
            }

            void UseAttributes(Mono.Collections.Generic.Collection<CustomAttribute> attributes, string where)
            {
                foreach (var attribute in attributes)
                {
                    Use(attribute.AttributeType, where);
                    foreach (var argument in attribute.ConstructorArguments.Concat(attribute.Properties.Select(p => p.Argument)).Concat(attribute.Fields.Select(f => f.Argument)))
                    {
                        Use(argument.Value as TypeReference, $"{where} (typeof)");
                    }
                }
            }

            void UseConstraints(Mono.Collections.Generic.Collection<GenericParameter> parameters, string where)
            {
                foreach (var constraint in parameters.SelectMany(p => p.Constraints))
                {
                    Use(constraint.ConstraintType, where);
                }
            }

            Use(type.BaseType, "derives from it");
            UseAttributes(type.CustomAttributes, "has its attribute");
            UseConstraints(type.GenericParameters, "constrains a type parameter to it");
            foreach (var face in type.Interfaces)
            {
                Use(face.InterfaceType, "implements it");
            }

            foreach (var field in type.Fields)
            {
                Use(field.FieldType, $"field {field.Name}");
                UseAttributes(field.CustomAttributes, $"field {field.Name} has its attribute");
            }

            foreach (var property in type.Properties)
            {
                Use(property.PropertyType, $"property {property.Name}");
                UseAttributes(property.CustomAttributes, $"property {property.Name} has its attribute");
            }

            foreach (var method in type.Methods)
            {
                Use(method.ReturnType, $"{method.Name} returns it");
                UseAttributes(method.CustomAttributes, $"{method.Name} has its attribute");
                UseConstraints(method.GenericParameters, $"{method.Name} constrains a type parameter to it");
                foreach (var overridden in method.Overrides)
                {
                    Use(overridden.DeclaringType, $"{method.Name} overrides its {overridden.Name}");
                }

                foreach (var parameter in method.Parameters)
                {
                    Use(parameter.ParameterType, $"{method.Name} takes it");
                    UseAttributes(parameter.CustomAttributes, $"{method.Name} has its attribute on a parameter");
                }

                if (!method.HasBody)
                {
                    continue;
                }

                foreach (var local in method.Body.Variables)
                {
                    Use(local.VariableType, $"{method.Name} has a local of it");
                }

                foreach (var handler in method.Body.ExceptionHandlers)
                {
                    Use(handler.CatchType, $"{method.Name} catches it");
                }

                foreach (var instruction in method.Body.Instructions)
                {
                    switch (instruction.Operand)
                    {
                        case TypeReference t:
                            Use(t, $"{method.Name} names it");
                            break;
                        case MethodReference m:
                            Use(m.DeclaringType, $"{method.Name} calls {m.Name}");
                            Use(m.ReturnType, $"{method.Name} calls {m.Name}");
                            foreach (var parameter in m.Parameters)
                            {
                                Use(parameter.ParameterType, $"{method.Name} calls {m.Name}");
                            }

                            if (m is GenericInstanceMethod generic)
                            {
                                foreach (var argument in generic.GenericArguments)
                                {
                                    Use(argument, $"{method.Name} calls {m.Name}");
                                }
                            }

                            break;
                        case FieldReference f:
                            Use(f.DeclaringType, $"{method.Name} reads {f.Name}");
                            Use(f.FieldType, $"{method.Name} reads {f.Name}");
                            break;
                    }
                }
            }
        }

        return graph;
    }

    /// <summary>The cycles of <paramref name="graph"/>: each strongly connected set of more than one namespace.</summary>
    public static List<List<string>> Cycles(SortedDictionary<string, SortedDictionary<string, List<string>>> graph)
    {
        // Tarjan's algorithm; the graphs here have a dozen nodes.
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var cycles = new List<List<string>>();
        var next = 0;

        void Visit(string node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var to in graph.TryGetValue(node, out var edges) ? edges.Keys : Enumerable.Empty<string>())
            {
                if (!index.TryGetValue(to, out var seen))
                {
                    Visit(to);
                    low[node] = Math.Min(low[node], low[to]);
                }
                else if (onStack.Contains(to))
                {
                    low[node] = Math.Min(low[node], seen);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string popped;
                do
                {
                    popped = stack.Pop();
                    onStack.Remove(popped);
                    component.Add(popped);
                }
                while (popped != node);

                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    cycles.Add(component);
                }
            }
        }

        foreach (var node in graph.Keys)
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return cycles;
    }

    private static string NamespaceOf(TypeDefinition type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type.Namespace;
    }

    private static IEnumerable<string> NamespacesIn(TypeReference? type)
    {
        if (type is null)
        {
            yield break;
        }

        switch (type)
        {
            case GenericInstanceType generic:
                foreach (var ns in NamespacesIn(generic.ElementType))
                {
                    yield return ns;
                }

                foreach (var argument in generic.GenericArguments)
                {
                    foreach (var ns in NamespacesIn(argument))
                    {
                        yield return ns;
                    }
                }

                yield break;
            case TypeSpecification specification:
                foreach (var ns in NamespacesIn(specification.ElementType))
                {
                    yield return ns;
                }

                yield break;
            case GenericParameter:
                yield break;
        }

        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        yield return type.Namespace;
    }
}
